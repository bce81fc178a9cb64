import gzip
import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest

from sources.http import Response
from sources.landing import RawStore
from tests.kolada_fixtures import answer, kolada_page, scripted_http

FETCHED = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MANIFEST_FIELDS = {
    "run_id",
    "source",
    "kind",
    "method",
    "url",
    "request_body",
    "fetched_at",
    "status",
    "content_hash",
    "bytes",
}


def response(body=b'{"values": []}', url="https://kolada.test/v3/kpi", at=FETCHED, **fields):
    return Response(
        method=fields.get("method", "GET"),
        url=url,
        status=fields.get("status", 200),
        body=body,
        headers={},
        fetched_at=at,
        request_body=fields.get("request_body"),
    )


def test_identical_bodies_are_stored_once(tmp_path):
    store = RawStore(tmp_path)

    first = store.land(response(url="https://a.test/1"), run_id="r1", source="kolada", kind="kpi")
    second = store.land(response(url="https://a.test/2"), run_id="r2", source="kolada", kind="kpi")
    first, second = first["content_hash"], second["content_hash"]

    assert first == second
    assert len(list((tmp_path / "objects").rglob("*.json.gz"))) == 1
    assert len(store.manifest("r1")) == len(store.manifest("r2")) == 1


def test_body_is_gzip_at_its_content_address_and_reads_back(tmp_path):
    body = '{"values": [{"title": "Invånare totalt"}]}'.encode()
    store = RawStore(tmp_path)

    content_hash = store.land(response(body), run_id="r1", source="kolada", kind="kpi")[
        "content_hash"
    ]

    assert content_hash == hashlib.sha256(body).hexdigest()
    path = tmp_path / "objects" / content_hash[:2] / f"{content_hash}.json.gz"
    assert gzip.decompress(path.read_bytes()) == body
    assert store.read_body(content_hash) == body
    assert store.has(content_hash)


def test_manifest_has_one_row_per_response_in_order(tmp_path):
    store = RawStore(tmp_path)
    post = response(b"{}", url="https://scb.test/data", method="POST", request_body=b'{"a": 1}')

    store.land(response(b"one"), run_id="r1", source="kolada", kind="kpi")
    store.land(post, run_id="r1", source="scb", kind="scb_data")

    rows = store.manifest("r1")
    assert [set(row) for row in rows] == [MANIFEST_FIELDS, MANIFEST_FIELDS]
    assert rows[0] == {
        "run_id": "r1",
        "source": "kolada",
        "kind": "kpi",
        "method": "GET",
        "url": "https://kolada.test/v3/kpi",
        "request_body": None,
        "fetched_at": "2026-11-29T12:00:00+00:00",
        "status": 200,
        "content_hash": hashlib.sha256(b"one").hexdigest(),
        "bytes": 3,
    }
    assert (rows[1]["method"], rows[1]["request_body"], rows[1]["kind"]) == (
        "POST",
        '{"a": 1}',
        "scb_data",
    )


def test_manifest_of_a_run_that_landed_nothing_is_empty(tmp_path):
    assert RawStore(tmp_path).manifest("never") == []


def test_run_ids_are_listed_in_the_order_their_runs_fetched(tmp_path):
    store = RawStore(tmp_path)
    for run_id, minutes in (("b-run", 0), ("a-run", 5), ("c-run", 2)):
        at = FETCHED + timedelta(minutes=minutes)
        store.land(response(run_id.encode(), at=at), run_id=run_id, source="kolada", kind="kpi")

    assert store.run_ids() == ["b-run", "c-run", "a-run"]


def test_run_ids_of_an_empty_store_is_empty(tmp_path):
    assert RawStore(tmp_path / "nothing-yet").run_ids() == []


def test_read_body_of_unknown_hash_names_it(tmp_path):
    unknown = "0" * 64

    with pytest.raises(FileNotFoundError, match=unknown):
        RawStore(tmp_path).read_body(unknown)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "0" * 63])
def test_read_body_refuses_what_is_not_a_sha256(tmp_path, bad):
    with pytest.raises(ValueError, match="sha256"):
        RawStore(tmp_path).read_body(bad)


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".hidden"])
def test_run_ids_that_are_not_plain_file_names_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="run id"):
        RawStore(tmp_path).land(response(), run_id=bad, source="kolada", kind="kpi")


def test_recorder_lands_every_final_http_answer_under_its_requests_label(tmp_path):
    store = RawStore(tmp_path)
    http = scripted_http(
        [answer(503), kolada_page([{"id": "N1"}]), kolada_page([{"kpi": "N1"}])],
        base_delay=0.01,
    )
    http.on_response = store.recorder("run-1", "kolada")

    http.get("https://kolada.test/v3/kpi?per_page=5000", label={"kind": "kpi"})
    http.get("https://kolada.test/v3/data/kpi/N1/year/2020", label={"kind": "data", "part": 3})

    rows = store.manifest("run-1")
    assert [(row["kind"], row["status"], row["source"]) for row in rows] == [
        ("kpi", 200, "kolada"),
        ("data", 200, "kolada"),
    ]
    assert "tag" not in rows[0]
    assert rows[1]["tag"] == {"part": 3}
    assert all(store.read_body(row["content_hash"]) for row in rows)


def test_landing_from_many_threads_keeps_every_row_whole(tmp_path):
    store = RawStore(tmp_path)

    def land_many(worker):
        for number in range(50):
            body = f'{{"worker": {worker}, "n": {number % 10}}}'.encode()
            store.land(response(body), run_id="busy", source="kolada", kind="data")

    threads = [threading.Thread(target=land_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rows = store.manifest("busy")
    assert len(rows) == 8 * 50
    assert len({row["content_hash"] for row in rows}) == 8 * 10
    assert len(list((tmp_path / "objects").rglob("*.json.gz"))) == 8 * 10
    assert not list((tmp_path / "objects").rglob("*.tmp"))


def test_an_unlabelled_answer_is_landed_as_other_not_guessed_from_its_url(tmp_path):
    store = RawStore(tmp_path)
    http = scripted_http([answer(200, b"{}")])
    http.on_response = store.recorder("run-1", "scb")

    http.get("https://scb.test/api/v2/config")

    assert [row["kind"] for row in store.manifest("run-1")] == ["other"]


def test_only_runs_marked_completed_are_listed_as_completed(tmp_path):
    store = RawStore(tmp_path)
    for run_id, minutes in (("done-late", 9), ("failed", 5), ("done-early", 1)):
        at = FETCHED + timedelta(minutes=minutes)
        store.land(response(run_id.encode(), at=at), run_id=run_id, source="kolada", kind="kpi")
    store.mark_completed("done-late")
    store.mark_completed("done-early")

    assert store.completed_run_ids() == ["done-early", "done-late"]
    assert store.run_ids() == ["done-early", "failed", "done-late"]
