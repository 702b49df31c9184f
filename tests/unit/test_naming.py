import dns.name
import pytest

from dockernet.publish.naming import record_name, repair_label, source_name

ZONE = dns.name.from_text("docker.test")
CID = "8311c4c09153" + "0" * 52


@pytest.mark.parametrize(
    "hostname, name, expected, note_part",
    [
        ("web1", "c1", "web1.docker.test.", ""),
        ("WEB1", "c1", "web1.docker.test.", "made a valid"),
        (CID[:12], "proj_web_1", "proj-web-1.docker.test.", "made a valid"),
        ("", "/db", "db.docker.test.", ""),
        ("web1.docker.test", "c1", "web1.docker.test.", ""),
        ("web1.docker.test.", "c1", "web1.docker.test.", ""),
        ("a.b.docker.test", "c1", "a.b.docker.test.", ""),
        ("web1.other.test", "c1", None, "outside the zone"),
        ("web1.fooocker.test", "c1", None, "outside the zone"),
        ("web1.xdocker.test", "c1", None, "outside the zone"),
        ("docker.test", "c1", None, "outside the zone"),
        ("-web", "c1", None, "not a valid DNS label"),
        ("web-", "c1", None, "not a valid DNS label"),
        ("_web", "c1", None, "not a valid DNS label"),
        ("x" * 63, "c1", "x" * 63 + ".docker.test.", ""),
        ("x" * 64, "c1", None, "not a valid DNS label"),
        ("we b", "c1", None, "not a valid DNS label"),
        ("web..x", "c1", None, "not a valid DNS label"),
        ("caf\u00e9", "c1", None, "not a valid DNS label"),
    ],
)
def test_record_name_table(hostname, name, expected, note_part):
    decision = record_name(hostname, name, CID, ZONE)
    if expected is None:
        assert decision.fqdn is None and decision.skipped
    else:
        assert decision.fqdn == dns.name.from_text(expected)
    assert note_part in decision.note
    if not note_part:
        assert decision.note == ""


def test_zone_membership_is_decided_on_label_boundaries_not_suffix():
    zone = dns.name.from_text("example.com")
    assert record_name("a.fooexample.com", "c", CID, zone).skipped
    assert record_name("a.example.com", "c", CID, zone).fqdn == dns.name.from_text("a.example.com")


def test_default_hostname_falls_back_to_container_name():
    assert source_name(CID[:12], "/proj_web_1", CID) == "proj_web_1"
    assert source_name("web1", "/proj_web_1", CID) == "web1"


@pytest.mark.parametrize(
    "label, repaired", [("a_b", "a-b"), ("Ab", "ab"), ("a.b", None), ("", None), ("a" * 64, None), ("1a", "1a")]
)
def test_repair_label(label, repaired):
    assert repair_label(label) == repaired


def test_overlong_name_is_skipped():
    zone = dns.name.from_text("docker.test")
    long_name = ".".join(["a" * 60] * 4) + ".docker.test"
    decision = record_name(long_name, "c", CID, zone)
    assert decision.skipped


# Hostile input: every value below comes from a container. Each must be skipped (or, for the two
# unambiguous repairs, repaired), never passed through: one such name reaching the server once
# stopped every other container's updates.
HOSTILE = [
    "0\n",  # Python's '$' matches before a trailing newline
    "web\n",
    "0\n.bar.test",  # the reported poison: passes a '$'-anchored label pattern, refused by named
    "\nweb",
    "we\nb",
    "web\r",
    "web\x00",
    "we\x00b",
    "web\t",
    "\tweb",
    "web ",
    " web",
    "we b",
    "web\x7f",
    "web\u2028",
    "web\u202e",
    "caf\u00e9",
    "\u212aelvin",  # KELVIN SIGN: str.lower() makes it ASCII 'k'
    "\u0130stanbul",  # LATIN CAPITAL I WITH DOT: lower() gives two characters
    "ｗｅｂ",  # fullwidth letters
    "web\ufeff",
    "x" * 64,
    ".".join(["a" * 63] * 4) + ".docker.test",
    "*",
    "*.docker.test",
    "@",
    "web/1",
    "web\\.x",
    'web"1',
    "web;1",
    "-",
    "..",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_hostnames_are_skipped(text):
    decision = record_name(text, "fallback", CID, ZONE)
    assert decision.skipped, f"{text!r} became {decision.fqdn}"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_container_names_are_skipped(text):
    # no -h: Docker's hostname is the short id and the container name is used
    assert record_name(CID[:12], text, CID, ZONE).skipped


@pytest.mark.parametrize("text", [text for text in HOSTILE if text.strip(" ") == text])
def test_hostile_labels_and_aliases_publish_nothing_of_theirs(text):
    from dockernet.engine.model import ContainerInfo
    from dockernet.publish.claims import RecordPolicy, claims_of

    info = ContainerInfo(
        CID,
        "c1",
        CID[:12],
        True,
        "",
        ("10.1.0.2",),
        labels={"dockernet.name": text, "dockernet.aliases": f"ok1,{text},ok2"},
    )
    said = []
    claims = claims_of(info, RecordPolicy(ZONE, 60), lambda level, line: said.append(line))
    # the label name is refused; the valid aliases around the hostile one still publish
    assert {claim.fqdn for claim in claims} == {dns.name.from_text(f"ok{i}.docker.test") for i in (1, 2)}
    assert all("\n" not in line and "\r" not in line and "\x00" not in line for line in said)


@pytest.mark.parametrize("label, repaired", [("web1", "web1"), ("Web_1", "web-1"), ("a" * 63, "a" * 63), ("1", "1")])
def test_the_only_repairs_are_case_and_underscore(label, repaired):
    assert repair_label(label) == repaired


def test_spaces_around_label_values_are_trimmed_but_no_other_whitespace():
    from dockernet.engine.model import ContainerInfo
    from dockernet.publish.claims import RecordPolicy, claims_of

    labels = {"dockernet.name": " web ", "dockernet.aliases": "a, b ,\tc,d\n"}
    info = ContainerInfo(CID, "c1", CID[:12], True, "", ("10.1.0.2",), labels=labels)
    names = {claim.fqdn.to_text() for claim in claims_of(info, RecordPolicy(ZONE, 60), lambda *_: None)}
    assert names == {"web.docker.test.", "a.docker.test.", "b.docker.test."}


def test_a_megabyte_name_is_refused_before_its_labels_are_looked_at(monkeypatch):
    """'a.' five hundred thousand times: refused for its length, without repairing half a million labels."""
    import dockernet.publish.naming as naming

    looked = []
    real = naming.repair_label
    monkeypatch.setattr(naming, "repair_label", lambda label: looked.append(label) or real(label))
    decision = naming.place_name("a." * 500_000, dns.name.from_text("docker.test"), full=False)
    assert decision.skipped and decision.note == "the name is longer than 253 characters"
    assert looked == []
