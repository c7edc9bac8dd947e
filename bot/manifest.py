"""`mailops manifest`: the Teams app package, built from `manifest/` and the command registry.

    mailops manifest [--out dist/mailops.zip] [--bot-id GUID] [--app-id GUID] [--version 1.0.0]

It fills `manifest/manifest.template.json` (`${VERSION}`, `${TEAMS_APP_ID}`, `${BOT_ID}`), lists
the bot's commands from `dialogs.commands.REGISTRY` (English in the manifest, Indonesian in a
localization file), validates both offline against the JSON schemas that the npm package
`@microsoft/app-manifest` ships (draft-04, `jsonschema.Draft4Validator`), checks the icons'
PNG headers, and zips `manifest.json`, the icons and `id.json` at the root of the archive.

Ids: `--bot-id` defaults to `MicrosoftAppId`, else to a stable made-up id (fine for a local
sideload, useless for a real registration); `--app-id` defaults to an id derived from the bot
id, so rebuilding gives the same Teams app. Real ids are passed at build time, never committed.

Only commands the router implements are advertised, so the command menu never offers
something the bot would refuse as unknown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft4Validator

from dialogs.commands import REGISTRY, CommandKind, Language

ROOT: Final = Path(__file__).resolve().parent.parent
SOURCE_DIR: Final = ROOT / "manifest"
SCHEMA_DIR: Final = ROOT / "node_modules/@microsoft/app-manifest/build/json-schemas/teams/v1.30"
MANIFEST_SCHEMA: Final = "MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA: Final = "MicrosoftTeams.Localization.schema.json"

MAX_COMMANDS: Final = 12  # per command list since manifest v1.24 (reference/teams.md §4)
MAX_TITLE: Final = 32
MAX_DESCRIPTION: Final = 128
ICONS: Final = {"color": (192, 192), "outline": (32, 32)}

# Stable ids for a local build: derived, never registered anywhere.
_NAMESPACE: Final = uuid.UUID("6f1c1c36-5a0e-4d3b-9a55-2f7f3c8e9b10")
_SEMVER: Final = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_GUID: Final = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PLACEHOLDER: Final = re.compile(r"\$\{([A-Z_]+)\}")

# The command menu, most useful first; the first 12 the router handles are listed. A person
# works in the personal chat: act on one mailbox, look at the trouble, ask why, get help. A
# team channel or group chat (the on-call room) gets the subset that makes sense in front of
# others: looking, testing, explaining. Every SHARED kind ranks in PERSONAL's first 12, so
# the shared list is always a subset of the personal one.
PERSONAL: Final = (
    CommandKind.STATUS,
    CommandKind.APPROVE,
    CommandKind.TEST_AND_ENABLE,
    CommandKind.ALERTS,
    CommandKind.FAILING_MAILBOXES,
    CommandKind.PENDING_APPROVALS,
    CommandKind.WHY,
    CommandKind.REQUEST_APPROVAL,
    CommandKind.REJECT,
    CommandKind.MY_REQUESTS,
    CommandKind.SHOW_EMAIL_SETTINGS,
    CommandKind.HELP,
    # next in line while one of the above is not implemented
    CommandKind.APPLY_DEFAULT_SETTINGS,
    CommandKind.TEST_PROFILE,
    CommandKind.USE_PROFILE,
    CommandKind.SET_DELIVERY_METHODS,
    CommandKind.AUDIT,
    CommandKind.WHO_IS_ON_CALL,
)
SHARED: Final = (
    CommandKind.STATUS,
    CommandKind.TEST_AND_ENABLE,
    CommandKind.ALERTS,
    CommandKind.FAILING_MAILBOXES,
    CommandKind.PENDING_APPROVALS,
    CommandKind.WHY,
    CommandKind.HELP,
)

# The Indonesian face of the app (the commands come from the registry).
_INDONESIAN: Final = {
    "name.short": "MailOps",
    "name.full": "MailOps: administrasi sinkronisasi sisi server untuk Dataverse",
    "description.short": "Setujui, uji, dan pantau kotak pesan Dataverse dari Teams.",
    "description.full": (
        "MailOps mengelola sinkronisasi sisi server Dataverse dengan Exchange Online dari "
        "obrolan Teams: setujui alamat email, uji & aktifkan kotak pesan, baca peringatan, dan "
        "teruskan permintaan yang tidak boleh Anda jalankan kepada pemberi persetujuan yang "
        "berwenang. Setiap permintaan diperiksa terhadap model izin Microsoft."
    ),
}
LOCALIZATION_FILE: Final = "id.json"


class ManifestError(Exception):
    """The package cannot be built; the message says what to fix."""


@dataclass(frozen=True)
class Package:
    """What `build` produced."""

    path: Path
    manifest: dict[str, Any]
    localization: dict[str, Any]
    skipped: tuple[CommandKind, ...]  # wanted in a list, not implemented by the router


def default_bot_id(environ: Mapping[str, str]) -> str:
    """`MicrosoftAppId` when set, else a stable id for local builds."""
    return environ.get("MicrosoftAppId") or str(uuid.uuid5(_NAMESPACE, "mailops-local-bot"))


def default_app_id(bot_id: str) -> str:
    """The Teams app id derived from the bot id: rebuilding yields the same app."""
    return str(uuid.uuid5(_NAMESPACE, f"mailops-teams-app:{bot_id.lower()}"))


def default_version() -> str:
    try:
        return metadata.version("mailops")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0.1.0"


def implemented_commands() -> Callable[[CommandKind], bool]:
    """What the router handles, asked of a router built offline (no service is opened)."""
    from dialogs.app import build_router
    from dialogs.context import Services
    from dialogs.signing import CardSigner

    router = build_router(Services({}), CardSigner(os.urandom(32)))
    return router.handles


def command_lists(
    handles: Callable[[CommandKind], bool], language: Language = "en"
) -> tuple[list[dict[str, Any]], tuple[CommandKind, ...]]:
    """`bots[0].commandLists` and the wanted commands left out because nothing handles them."""
    wanted = (*PERSONAL[:MAX_COMMANDS], *SHARED)
    skipped = tuple(kind for kind in dict.fromkeys(wanted) if not handles(kind))
    lists = []
    for scopes, kinds in ((["personal"], PERSONAL), (["team", "groupChat"], SHARED)):
        commands = [_command(kind, language) for kind in kinds if handles(kind)][:MAX_COMMANDS]
        if commands:
            lists.append({"scopes": scopes, "commands": commands})
    return lists, skipped


def _command(kind: CommandKind, language: Language) -> dict[str, str]:
    info = REGISTRY[kind]
    title, description = info.title(language), info.help(language)
    if not title or len(title) > MAX_TITLE:
        msg = f"the {language} title of {kind.value!r} must be 1–{MAX_TITLE} characters: {title!r}"
        raise ManifestError(msg)
    if len(description) > MAX_DESCRIPTION:
        msg = f"the {language} help of {kind.value!r} is over {MAX_DESCRIPTION} characters"
        raise ManifestError(msg)
    return {"title": title, "description": description}


def fill(template: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The template with every `${NAME}` replaced; an unknown or leftover name is an error."""
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if unknown:
        msg = f"the template has placeholders nothing fills: {', '.join(unknown)}"
        raise ManifestError(msg)
    filled = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    manifest: dict[str, Any] = json.loads(filled)
    return manifest


def localization(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The Indonesian strings: the app's name and description, and every listed command."""
    strings: dict[str, Any] = {
        "$schema": manifest["$schema"].replace(MANIFEST_SCHEMA, LOCALIZATION_SCHEMA),
        **_INDONESIAN,
    }
    by_title = {info.title("en"): info for info in REGISTRY.values()}
    for i, command_list in enumerate(manifest["bots"][0].get("commandLists", [])):
        for j, command in enumerate(command_list["commands"]):
            info = by_title[command["title"]]
            prefix = f"bots[0].commandLists[{i}].commands[{j}]"
            strings[f"{prefix}.title"] = _command(info.kind, "id")["title"]
            strings[f"{prefix}.description"] = _command(info.kind, "id")["description"]
    return strings


def load_schema(schema_dir: Path, name: str) -> dict[str, Any]:
    path = schema_dir / name
    if not path.is_file():
        msg = (
            f"the Teams manifest schema is missing ({path}): the npm package "
            "@microsoft/app-manifest is not installed; run make test/make demo, which installs it"
        )
        raise ManifestError(msg)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def schema_errors(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every violation, as `path: message`, in document order (offline: no $ref is fetched)."""
    validator = Draft4Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        msg = "not a PNG file"
        raise ManifestError(msg)
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _has_alpha(data: bytes) -> bool:
    color_type = data[25]
    return color_type in {4, 6} or b"tRNS" in data


def check_icons(source: Path, manifest: Mapping[str, Any]) -> dict[str, bytes]:
    """The icon files named by the manifest, checked for size (and transparency of the outline)."""
    icons: dict[str, bytes] = {}
    for role, (width, height) in ICONS.items():
        name = manifest["icons"][role]
        path = source / name
        if "/" in name or "\\" in name or not path.is_file():
            msg = f"icons.{role}: {name!r} must be a file next to the template"
            raise ManifestError(msg)
        data = path.read_bytes()
        try:
            size = png_size(data)
        except ManifestError:
            msg = f"icons.{role}: {name} is not a PNG file"
            raise ManifestError(msg) from None
        if size != (width, height):
            msg = f"icons.{role}: {name} is {size[0]}×{size[1]}, Teams wants {width}×{height}"
            raise ManifestError(msg)
        if role == "outline" and not _has_alpha(data):
            msg = f"icons.outline: {name} must have a transparent background"
            raise ManifestError(msg)
        icons[name] = data
    return icons


def build(
    out: Path,
    *,
    bot_id: str,
    app_id: str,
    version: str,
    handles: Callable[[CommandKind], bool],
    source: Path = SOURCE_DIR,
    schema_dir: Path = SCHEMA_DIR,
) -> Package:
    """Fill, list the commands, validate offline, check the icons, and write the zip."""
    for flag, value in (("--bot-id", bot_id), ("--app-id", app_id)):
        if not _GUID.match(value):
            msg = f"{flag}: {value!r} is not a GUID"
            raise ManifestError(msg)
    if not _SEMVER.match(version):
        msg = f"--version: {version!r} is not MAJOR.MINOR.PATCH"
        raise ManifestError(msg)
    manifest_schema = load_schema(schema_dir, MANIFEST_SCHEMA)
    localization_schema = load_schema(schema_dir, LOCALIZATION_SCHEMA)

    template = (source / "manifest.template.json").read_text(encoding="utf-8")
    manifest = fill(template, {"VERSION": version, "TEAMS_APP_ID": app_id, "BOT_ID": bot_id})
    lists, skipped = command_lists(handles)
    manifest["bots"][0]["commandLists"] = lists
    manifest["localizationInfo"] = {
        "defaultLanguageTag": "en-us",
        "additionalLanguages": [{"languageTag": "id", "file": LOCALIZATION_FILE}],
    }
    strings = localization(manifest)

    problems = [f"manifest.json: {e}" for e in schema_errors(manifest, manifest_schema)]
    problems += [f"{LOCALIZATION_FILE}: {e}" for e in schema_errors(strings, localization_schema)]
    if problems:
        raise ManifestError("the package does not validate:\n  " + "\n  ".join(problems))
    icons = check_icons(source, manifest)

    files = {
        "manifest.json": _json_bytes(manifest),
        LOCALIZATION_FILE: _json_bytes(strings),
        **icons,
    }
    _write_zip(out, files.items())
    return Package(out, manifest, strings, skipped)


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write_zip(out: Path, files: Iterable[tuple[str, bytes]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            # A fixed timestamp: the same inputs give the same bytes.
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailops manifest",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--out", type=Path, default=Path("dist/mailops.zip"))
    parser.add_argument("--bot-id", help="the bot's Microsoft App ID (default: MicrosoftAppId)")
    parser.add_argument("--app-id", help="the Teams app id (default: derived from the bot id)")
    parser.add_argument("--version", default=None, help="the app version, MAJOR.MINOR.PATCH")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--schema-dir", type=Path, default=SCHEMA_DIR, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    bot_id = args.bot_id or default_bot_id(os.environ)
    try:
        package = build(
            args.out,
            bot_id=bot_id,
            app_id=args.app_id or default_app_id(bot_id),
            version=args.version or default_version(),
            handles=implemented_commands(),
            source=args.source,
            schema_dir=args.schema_dir,
        )
    except (ManifestError, OSError) as exc:
        sys.stderr.write(f"mailops manifest: {exc}\n")
        return 1
    lists = package.manifest["bots"][0]["commandLists"]
    listed = [c["title"] for c in lists[0]["commands"]] if lists else []
    sys.stdout.write(f"{package.path}: Teams app {package.manifest['id']}, bot {bot_id}\n")
    sys.stdout.write(f"  commands: {', '.join(listed) or '(none)'}\n")
    if package.skipped:
        not_yet = ", ".join(REGISTRY[k].title("en") for k in package.skipped)
        sys.stdout.write(f"  not listed, the router does not handle them yet: {not_yet}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
