"""The deploy bridge: Pulumi's mock runtime, with every declared resource created in moto.

``MotoMocks`` is the ``pulumi.runtime.Mocks`` the emulator runs the real
``__main__.py`` under. Each ``new_resource`` creates the resource in moto from
the inputs the program produced and returns moto's real ids, ARNs and URLs as
the resource's state, so dependent resources get real values and the stack's
pieces are proven to work together (the intake rule's pattern really matches
what S3 emits, the queue policy really names the rule, ...). A type the bridge
does not know is an error naming the type: a silent skip would deploy a stack
with a hole in it and the demo would still look fine.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.runtime.errors import OperationalError


class BridgeError(OperationalError):
    """The program declared something the emulator cannot create; the message names it and the fix."""


@dataclass
class CreatedResource:
    """One resource the program declared, as the bridge created it."""

    type: str
    name: str
    id: str
    state: dict[str, Any]
    note: str = ""  # why a resource exists only on paper (acknowledged types)


@dataclass
class BridgeContext:
    """What a type handler needs: clients, where the program lives, and what exists already."""

    aws: InProcessAWS
    project_dir: Path
    stack: str
    created: list[CreatedResource] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.aws.client(service)
        return self._clients[service]

    def physical_name(self, logical: str, *, max_length: int = 64, suffix: str = "",
                      lowercase: bool = False, allowed: str = r"A-Za-z0-9_-") -> str:
        """Pulumi's auto-naming (logical name + '-' + 7 characters), deterministic per stack so a rerun of the
        demo names everything the same."""
        digest = hashlib.sha256(f"{self.stack}/{logical}".encode()).hexdigest()[:7]
        base = logical.lower() if lowercase else logical
        base = re.sub(f"[^{allowed}]", "-", base)
        keep = max_length - len(digest) - 1 - len(suffix)
        return f"{base[:keep].rstrip('-.')}-{digest}{suffix}"

    def resolve_path(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.project_dir / candidate

    @property
    def region(self) -> str:
        return self.aws.region

    @property
    def account(self) -> str:
        return self.aws.account_id


Handler = Callable[[BridgeContext, str, dict[str, Any]], tuple[str, dict[str, Any]]]
"""(context, logical name, inputs) -> (physical id, outputs beyond the inputs)."""


def _handlers() -> dict[str, Handler]:
    from landing_pipeline.emulator.bridge_catalog import HANDLERS as catalog
    from landing_pipeline.emulator.bridge_compute import HANDLERS as compute
    from landing_pipeline.emulator.bridge_control import HANDLERS as control
    from landing_pipeline.emulator.bridge_messaging import HANDLERS as messaging
    from landing_pipeline.emulator.bridge_storage import HANDLERS as storage

    return {**storage, **messaging, **compute, **control, **catalog}


def _acknowledged() -> dict[str, str]:
    from landing_pipeline.emulator.bridge_compute import ACKNOWLEDGED

    return ACKNOWLEDGED


class MotoMocks(AwsMocks):
    """Creates each declared resource in in-process moto and answers provider calls with the emulated account."""

    def __init__(self, aws: InProcessAWS, project_dir: Path, stack: str):
        super().__init__(region=aws.region, account_id=aws.account_id)
        self.context = BridgeContext(aws=aws, project_dir=project_dir, stack=stack)
        self.handlers = _handlers()
        self.acknowledged = _acknowledged()
        self.errors: list[str] = []
        self._lock = threading.Lock()  # the mock monitor may register resources from several threads

    @property
    def created(self) -> list[CreatedResource]:
        return self.context.created

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:  # a ComponentResource: nothing to create, its children come separately
            return "", inputs
        with self._lock:
            try:
                return self._create(args.typ, args.name, inputs)
            except BridgeError as exc:
                self.errors.append(str(exc))
                raise
            except Exception as exc:
                message = f"creating {args.typ} {args.name!r} in the emulator failed: {exc}"
                self.errors.append(message)
                raise BridgeError(message) from exc

    def _create(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if typ.startswith("pulumi:providers:"):
            self.created.append(CreatedResource(typ, name, name, inputs, "provider: the emulator is the account"))
            return name, inputs
        handler = self.handlers.get(typ)
        if handler is None:
            note = self.acknowledged.get(typ)
            if note is None:
                raise BridgeError(
                    f"the emulator does not know resource type {typ} (declared as {name!r}); add a handler for it "
                    "in emulator/bridge_*.py, or list it in ACKNOWLEDGED there if it has no effect on a local run")
            physical = self.context.physical_name(name)
            state = {**inputs, "arn": f"arn:aws:emulated:{self.context.region}:{self.context.account}:{physical}"}
            self.created.append(CreatedResource(typ, name, physical, state, note))
            return physical, state
        physical, outputs = handler(self.context, name, inputs)
        state = {**inputs, **outputs}
        self.created.append(CreatedResource(typ, name, physical, state))
        return physical, state

    @property
    def calls(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        from landing_pipeline.emulator.bridge_control import policy_document

        def get_policy_document(args: dict[str, Any]) -> dict[str, Any]:
            document = policy_document(args)
            return {"json": document, "minifiedJson": document,
                    "id": hashlib.sha256(document.encode()).hexdigest()}

        return {**super().calls, "aws:iam/getPolicyDocument:getPolicyDocument": get_policy_document}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        try:
            return super().call(args)
        except LookupError as exc:
            self.errors.append(f"the emulator does not answer provider function {args.token} ({exc})")
            raise


# --------------------------------------------------------------------------------------------------
# Helpers the type handlers share


def whole(value: Any) -> Any:
    """Pulumi hands numbers over as floats; AWS APIs want whole numbers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


def pascal(value: Any, renames: dict[str, str] | None = None) -> Any:
    """camelCase input keys -> the PascalCase the AWS APIs take (``renames`` for irregular ones, e.g. id -> ID)."""
    renames = renames or {}
    if isinstance(value, dict):
        return {renames.get(k, k[:1].upper() + k[1:]): pascal(v, renames) for k, v in value.items()
                if v is not None}
    if isinstance(value, list):
        return [pascal(v, renames) for v in value]
    return whole(value)


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]


def require(inputs: dict[str, Any], key: str, typ: str, name: str) -> Any:
    value = inputs.get(key)
    if value in (None, ""):
        raise BridgeError(f"{typ} {name!r} has no {key!r}; the emulator cannot create it without one")
    return value


def write_zip_entry(zipped: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Every entry gets the same timestamp and mode, so the same code always zips to the same bytes: Lambda's
    CodeSha256 then names the code, not the second it was packaged in (``writestr`` stamps the clock, ``write``
    the file's mtime; a replayed deploy saw one function's hash change at a 2-second boundary)."""
    entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    zipped.writestr(entry, data)
