"""``FeedCatalog``: the Glue database of a pipeline with feeds and, per feed, its tables (``runtime/catalog.py``).

Tables are declared here, from the same ``TableSpec`` and ``table_input`` the runtime uses, so ``pulumi up``
creates a table before any run writes to it and a user can query a feed as soon as its first group's partition is
registered. Partitions are not declared: the completion handler and the reconciler register them as runs end,
with ``partition_statements`` as their exact permissions.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import Statement, account_id, allow, partition, region
from landing_pipeline.runtime.catalog import (
    PARQUET_STORAGE,
    PARTITION_KEY,
    TABLE_PARAMETERS,
    TableSpec,
    database_name,
    feed_tables,
)
from landing_pipeline.runtime.spec import PipelineSpec

PARTITION_ACTIONS = ["glue:GetTable", "glue:GetPartition", "glue:CreatePartition", "glue:UpdatePartition"]
"""What ``runtime/catalog.sync_group`` calls for a feed with a schema."""
WIDEN_ACTIONS = ["glue:UpdateTable"]
"""And for a feed without one: its table takes the columns of the files (``widened``)."""


class FeedCatalog(pulumi.ComponentResource):
    """One ``aws.glue.CatalogDatabase`` and the feeds' ``aws.glue.CatalogTable`` s (Parquet, partitioned by group)."""

    database_name: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, output_bucket: pulumi.Input[str], database: str,
                 tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:FeedCatalog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database", name=database, description="Tables of the pipeline's feeds (landing-pipeline)",
            tags=dict(tags), opts=child)
        self.specs: list[TableSpec] = feed_tables(spec.feeds, spec.output_prefix)
        self.tables: dict[str, aws.glue.CatalogTable] = {
            table.name: _table(f"{name}-{table.name}", table, self.database.name, output_bucket, child)
            for table in self.specs}
        self.database_name = self.database.name
        self.register_outputs({"database_name": self.database_name})

    def statements(self, spec: PipelineSpec) -> list[Statement]:
        """Register partitions of exactly these tables (Glue authorises the catalog, database and table)."""
        catalog = pulumi.Output.concat("arn:", partition(), ":glue:", region(), ":", account_id())
        resources = [pulumi.Output.concat(catalog, ":catalog"),
                     pulumi.Output.concat(catalog, ":database/", self.database.name)]
        resources += [pulumi.Output.concat(catalog, ":table/", self.database.name, "/", t.name) for t in self.specs]
        actions = PARTITION_ACTIONS + (WIDEN_ACTIONS if any(not f.schema for f in spec.feeds) else [])
        return [allow("RegisterFeedPartitions", actions, resources)]


def _table(resource: str, table: TableSpec, database: pulumi.Input[str], bucket: pulumi.Input[str],
           opts: pulumi.ResourceOptions) -> aws.glue.CatalogTable:
    location = pulumi.Output.concat("s3://", bucket, "/", table.path)
    serde = PARQUET_STORAGE["SerdeInfo"]
    assert isinstance(serde, dict)
    descriptor = aws.glue.CatalogTableStorageDescriptorArgs(
        location=location, input_format=str(PARQUET_STORAGE["InputFormat"]),
        output_format=str(PARQUET_STORAGE["OutputFormat"]),
        ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
            serialization_library=str(serde["SerializationLibrary"]), parameters=dict(serde["Parameters"])),
        columns=[aws.glue.CatalogTableStorageDescriptorColumnArgs(name=n, type=t) for n, t in table.columns])
    return aws.glue.CatalogTable(
        resource, name=table.name, database_name=database, description=table.description,
        table_type="EXTERNAL_TABLE", parameters=dict(TABLE_PARAMETERS),
        partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(name=PARTITION_KEY, type="string")],
        storage_descriptor=descriptor, opts=opts)


def catalog_database(spec: PipelineSpec, pipeline: str) -> str:
    """The database name for ``pipeline`` in this project and stack."""
    return database_name(pulumi.get_project(), pulumi.get_stack(), pipeline)

