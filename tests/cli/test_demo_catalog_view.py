"""The demo's table of catalog tables: a table whose files disagree with it says how, in the row."""

from __future__ import annotations

from rich.console import Console

from landing_pipeline.cli.demo_view import catalog_view
from landing_pipeline.emulator.catalog_view import PartitionView, TableView


def test_the_demo_shows_each_table_and_what_its_files_disagree_with() -> None:
    good = TableView("orders", "s3://out/processed/orders/", ["order_id", "_group"],
                     [PartitionView("orders_1", "s3://out/processed/orders/orders_1/", 2, 7)])
    bad = TableView("events", "s3://out/processed/events/", ["id", "_group"],
                    [PartitionView("events_1", "s3://out/processed/events/events_1/", 1, 3)],
                    missing=["id"], mistyped=["_group: string vs bigint"])
    console = Console(width=140, record=True)
    console.print(catalog_view([good, bad], "out"))
    lines = console.export_text().splitlines()
    (orders,) = [line for line in lines if "orders" in line]
    (events,) = [line for line in lines if "events" in line]
    assert "processed/orders/" in orders and "7" in orders and "as the files" in orders
    assert "missing id" in events and "_group: string vs bigint" in events and "as the files" not in events
