"""`mailops manifest`: the package validates offline, its layout, and every listed command runs.

A build validates against the Teams schemas from node_modules (`make test` installs them): the
tests that build are marked `npm`, so `-m "not npm"` runs the rest on a checkout without it."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot import manifest as mf
from bot.cli import main as cli_main
from dialogs.commands import REGISTRY, CommandKind
from dialogs.router import Router

BOT_ID = "0b7a1d2e-3f40-4c5d-8e6f-708192a3b4c5"
APP_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def _everything(kind: CommandKind) -> bool:
    return True


def _build(tmp_path: Path, **kw: Any) -> mf.Package:
    options: dict[str, Any] = {
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "version": "1.2.3",
        "handles": _everything,
    }
    options.update(kw)
    return mf.build(tmp_path / "out" / "mailops.zip", **options)


def _read(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _schema(name: str) -> dict[str, Any]:
    return mf.load_schema(mf.SCHEMA_DIR, name)


def _lists(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    lists: list[dict[str, Any]] = manifest["bots"][0]["commandLists"]
    return lists


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x00" * 4 * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


# ---- the package -----------------------------------------------------------------------


@pytest.mark.npm
def test_the_built_manifest_validates_against_the_v1_30_schema(tmp_path: Path) -> None:
    files = _read(_build(tmp_path).path)
    manifest = json.loads(files["manifest.json"])
    assert manifest["manifestVersion"] == "1.30"
    assert manifest["$schema"].endswith("/v1.30/MicrosoftTeams.schema.json")
    assert list(Draft4Validator(_schema(mf.MANIFEST_SCHEMA)).iter_errors(manifest)) == []
    strings = json.loads(files["id.json"])
    assert list(Draft4Validator(_schema(mf.LOCALIZATION_SCHEMA)).iter_errors(strings)) == []


@pytest.mark.npm
def test_the_zip_holds_the_manifest_and_icons_at_its_root(tmp_path: Path) -> None:
    files = _read(_build(tmp_path).path)
    assert set(files) == {"manifest.json", "color.png", "outline.png", "id.json"}
    manifest = json.loads(files["manifest.json"])
    assert {manifest["icons"]["color"], manifest["icons"]["outline"]} <= set(files)
    assert mf.png_size(files[manifest["icons"]["color"]]) == (192, 192)
    assert mf.png_size(files[manifest["icons"]["outline"]]) == (32, 32)
    languages = manifest["localizationInfo"]["additionalLanguages"]
    assert [lang["file"] for lang in languages] == ["id.json"]


@pytest.mark.npm
def test_every_placeholder_is_filled(tmp_path: Path) -> None:
    template = (mf.SOURCE_DIR / "manifest.template.json").read_text()
    assert {"${VERSION}", "${TEAMS_APP_ID}", "${BOT_ID}"} <= {
        f"${{{name}}}" for name in mf._PLACEHOLDER.findall(template)
    }
    text = _read(_build(tmp_path).path)["manifest.json"].decode()
    assert "${" not in text
    manifest = json.loads(text)
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["webApplicationInfo"] == {"id": BOT_ID, "resource": f"api://botid-{BOT_ID}"}


def test_the_template_commits_no_real_ids() -> None:
    template = json.loads((mf.SOURCE_DIR / "manifest.template.json").read_text())
    assert template["id"] == "${TEAMS_APP_ID}"
    assert template["bots"][0]["botId"] == "${BOT_ID}"
    assert template["bots"][0]["commandLists"] == []


@pytest.mark.npm
def test_rebuilding_gives_the_same_bytes(tmp_path: Path) -> None:
    first = _build(tmp_path / "a").path.read_bytes()
    assert _build(tmp_path / "b").path.read_bytes() == first


# ---- the command lists -----------------------------------------------------------------


@pytest.mark.npm
def test_the_lists_respect_the_schema_limits(tmp_path: Path) -> None:
    lists = _lists(_build(tmp_path).manifest)
    assert [cl["scopes"] for cl in lists] == [["personal"], ["team", "groupChat"]]
    for command_list in lists:
        titles = [c["title"] for c in command_list["commands"]]
        assert len(titles) <= 12
        assert len(set(titles)) == len(titles)
        for command in command_list["commands"]:
            assert 1 <= len(command["title"]) <= 32
            assert len(command["description"]) <= 128
    personal, shared = ({c["title"] for c in cl["commands"]} for cl in lists)
    assert len(personal) == 12
    assert shared <= personal


def test_every_registry_entry_could_be_listed() -> None:
    """Any command may be promoted into the menu: its title and help fit in both languages."""
    for kind in REGISTRY:
        for language in ("en", "id"):
            mf._command(kind, language)  # raises ManifestError when it does not fit
    titles = [info.title("en") for info in REGISTRY.values()]
    assert len(set(titles)) == len(titles), "titles map back to kinds: they must be unique"


@pytest.mark.npm
def test_unimplemented_commands_are_not_advertised(tmp_path: Path) -> None:
    implemented = {CommandKind.APPROVE, CommandKind.STATUS, CommandKind.HELP}
    package = _build(tmp_path, handles=lambda kind: kind in implemented)
    personal, shared = _lists(package.manifest)
    assert [c["title"] for c in personal["commands"]] == ["status", "approve", "help"]
    assert [c["title"] for c in shared["commands"]] == ["status", "help"]
    assert CommandKind.TEST_AND_ENABLE in package.skipped
    assert CommandKind.APPROVE not in package.skipped


@pytest.mark.npm
def test_indonesian_titles_follow_the_english_ones(tmp_path: Path) -> None:
    package = _build(tmp_path)
    for i, command_list in enumerate(_lists(package.manifest)):
        for j, command in enumerate(command_list["commands"]):
            info = next(x for x in REGISTRY.values() if x.title_en == command["title"])
            key = f"bots[0].commandLists[{i}].commands[{j}]"
            assert package.localization[f"{key}.title"] == info.title_id
            assert package.localization[f"{key}.description"] == info.help_id


@pytest.mark.npm
async def test_every_listed_command_is_handled_by_the_router(
    tmp_path: Path, router: Router, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `mailops manifest` advertises, checked against the router the bot really runs."""
    out = tmp_path / "mailops.zip"
    assert cli_main(["manifest", "--out", str(out)]) == 0
    manifest = json.loads(_read(out)["manifest.json"])
    by_title = {info.title_en: kind for kind, info in REGISTRY.items()}
    listed = [c["title"] for cl in _lists(manifest) for c in cl["commands"]]
    assert listed, "the menu is empty"
    assert [t for t in listed if not router.handles(by_title[t])] == []
    assert str(out) in capsys.readouterr().out


# ---- ids -------------------------------------------------------------------------------


def test_the_bot_id_defaults_to_microsoft_app_id() -> None:
    assert mf.default_bot_id({"MicrosoftAppId": BOT_ID}) == BOT_ID


def test_without_an_app_id_the_ids_are_stable_and_distinct() -> None:
    bot_id = mf.default_bot_id({})
    assert bot_id == mf.default_bot_id({})
    assert mf.default_app_id(bot_id) == mf.default_app_id(bot_id.upper())
    assert mf.default_app_id(bot_id) != bot_id
    assert mf.default_app_id(BOT_ID) != mf.default_app_id(bot_id)


@pytest.mark.npm
def test_the_cli_takes_the_bot_id_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MicrosoftAppId", BOT_ID)
    out = tmp_path / "m.zip"
    assert cli_main(["manifest", "--out", str(out), "--version", "2.0.0"]) == 0
    manifest = json.loads(_read(out)["manifest.json"])
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["id"] == mf.default_app_id(BOT_ID)
    assert manifest["version"] == "2.0.0"


# ---- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"bot_id": "not-a-guid"}, "--bot-id"),
        ({"app_id": "1234"}, "--app-id"),
        ({"version": "1.0"}, "--version"),
        ({"version": "v1.0.0"}, "--version"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, options: dict[str, str], named: str) -> None:
    with pytest.raises(mf.ManifestError, match=named):
        _build(tmp_path, **options)


def test_a_missing_schema_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.zip"
    code = mf.main(["--out", str(out), "--schema-dir", str(tmp_path / "node_modules")])
    assert code == 1
    assert "run make test/make demo, which installs it" in capsys.readouterr().err
    assert not out.exists()


def _source_copy(tmp_path: Path) -> Path:
    source = tmp_path / "manifest"
    shutil.copytree(mf.SOURCE_DIR, source)
    return source


@pytest.mark.npm
def test_a_wrongly_sized_icon_is_refused(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    (source / "color.png").write_bytes(_png(96, 96))
    with pytest.raises(mf.ManifestError, match=r"icons\.color: color\.png is 96×96"):
        _build(tmp_path, source=source)


@pytest.mark.npm
def test_an_icon_that_is_no_png_is_refused(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    (source / "outline.png").write_bytes(b"GIF89a" + b"\x00" * 40)
    with pytest.raises(mf.ManifestError, match=r"icons\.outline: outline\.png is not a PNG"):
        _build(tmp_path, source=source)


@pytest.mark.npm
def test_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    template = source / "manifest.template.json"
    template.write_text(template.read_text().replace('"MailOps"', '"${PRODUCT}"', 1))
    with pytest.raises(mf.ManifestError, match="PRODUCT"):
        _build(tmp_path, source=source)


@pytest.mark.npm
def test_a_schema_violation_is_reported_with_its_path(tmp_path: Path) -> None:
    source = _source_copy(tmp_path)
    template = source / "manifest.template.json"
    document = json.loads(template.read_text())
    del document["accentColor"]
    document["name"]["short"] = "M" * 31
    template.write_text(json.dumps(document))
    with pytest.raises(mf.ManifestError) as caught:
        _build(tmp_path, source=source)
    assert "'accentColor' is a required property" in str(caught.value)
    assert "name/short" in str(caught.value)
    assert not (tmp_path / "out" / "mailops.zip").exists()
