"""The benchmark's lean HTTP client reads answers correctly and refuses what it cannot read."""

import pytest

from bench.http_client import HttpError, JsonPoster, _parse_head


def test_a_keep_alive_answer_gives_status_and_length() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n"
    assert _parse_head(head) == (200, 42, True)


def test_connection_close_is_noticed() -> None:
    head = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    assert _parse_head(head) == (400, 3, False)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
        b"garbage\r\n\r\n",
    ],
)
def test_answers_it_cannot_read_are_errors(head: bytes) -> None:
    with pytest.raises(HttpError):
        _parse_head(head)


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http://"):
        JsonPoster("https://127.0.0.1/graphql")
