"""Bridge handlers for the Glue Data Catalog: the feeds' database and tables, created in moto's Glue."""

from __future__ import annotations

from typing import Any

from landing_pipeline.emulator.bridge import BridgeContext, Handler, require


def catalog_database(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name).replace("-", "_").lower()
    database: dict[str, Any] = {"Name": physical}
    if inputs.get("description"):
        database["Description"] = inputs["description"]
    ctx.client("glue").create_database(DatabaseInput=database)
    return physical, {"name": physical, "arn": f"arn:aws:glue:{ctx.region}:{ctx.account}:database/{physical}",
                      "catalogId": ctx.account}


def catalog_table(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = require(inputs, "name", "CatalogTable", name)
    database = require(inputs, "databaseName", "CatalogTable", name)
    descriptor = inputs.get("storageDescriptor") or {}
    serde = descriptor.get("serDeInfo") or {}
    table: dict[str, Any] = {
        "Name": physical, "TableType": inputs.get("tableType") or "EXTERNAL_TABLE",
        "Parameters": {k: str(v) for k, v in (inputs.get("parameters") or {}).items()},
        "PartitionKeys": [_column(c) for c in inputs.get("partitionKeys") or []],
        "StorageDescriptor": {
            "Columns": [_column(c) for c in descriptor.get("columns") or []],
            "Location": descriptor.get("location", ""),
            "InputFormat": descriptor.get("inputFormat", ""), "OutputFormat": descriptor.get("outputFormat", ""),
            "SerdeInfo": {"SerializationLibrary": serde.get("serializationLibrary", ""),
                          "Parameters": {k: str(v) for k, v in (serde.get("parameters") or {}).items()}},
        },
    }
    if inputs.get("description"):
        table["Description"] = inputs["description"]
    ctx.client("glue").create_table(DatabaseName=database, TableInput=table)
    return f"{database}:{physical}", {
        "name": physical, "arn": f"arn:aws:glue:{ctx.region}:{ctx.account}:table/{database}/{physical}"}


def _column(column: dict[str, Any]) -> dict[str, str]:
    return {"Name": str(column["name"]), "Type": str(column["type"])}


HANDLERS: dict[str, Handler] = {
    "aws:glue/catalogDatabase:CatalogDatabase": catalog_database,
    "aws:glue/catalogTable:CatalogTable": catalog_table,
}
