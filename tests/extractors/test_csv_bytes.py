"""The byte-level passes over an export file: cp1252 transcoding and the blank-record search."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.visual_practice.export import encoding, read
from extractors.visual_practice.export.encoding import readable


def test_cp1252_transcodes_to_the_codecs_text_chunk_by_chunk(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 64)
    # Chunks of ASCII only, of latin-1 letters without C1 bytes, with curly quotes and the euro
    # sign (0x80-0x9F), and one with a byte cp1252 leaves undefined (0x81).
    ascii_part = b'"000001","Tremblay","Anne"\r' * 5
    latin_part = '"000002","Côté","Hélène","Montréal"\r'.encode("cp1252") * 4
    c1_part = '"000003","O’Brien","€ 20 – “paid”"\r'.encode("cp1252") * 4
    source = tmp_path / "VP-Clients-20261120.csv"
    undefined_part = b'"000004","M\x81ller"\r'
    for parts in ([ascii_part, latin_part, c1_part], [ascii_part, c1_part, undefined_part, latin_part]):
        data = b"".join(parts)
        source.write_bytes(data)
        with readable(source, "cp1252", tmp_path) as text:
            assert text.path != source
            copied = text.path.read_bytes()
        assert not text.path.exists()  # the copy lives only while the file is read
        if undefined_part in parts:  # kept as it was: the one byte of the copy that is not UTF-8
            assert copied.count(b"\x81") == 1 and b'"M\x81ller"' in copied
            with pytest.raises(UnicodeDecodeError):
                copied.decode("utf-8")
        assert copied.decode("utf-8", errors="surrogateescape") == data.decode("cp1252", errors="surrogateescape")


@pytest.mark.parametrize("record_end", ["CR", "CRLF", "LF"])
def test_an_inner_blank_record_is_found_across_chunks_and_a_trailing_one_is_not(tmp_path, monkeypatch,
                                                                               record_end) -> None:
    monkeypatch.setattr(read, "CHUNK_BYTES", 16)
    end = read.RECORD_ENDS[record_end]
    record = b'"000001","Anne"' + end  # 16 or 17 bytes: record ends fall on and across chunk edges
    path = tmp_path / "VP-Clients-20261120.csv"
    cases = {
        "no blank": (record * 9, False),
        "blank inside": (record * 4 + end + record * 4, True),
        "blank right after the header": (record + end + record, True),
        "blanks at the end only": (record * 5 + end + end, False),
        "a single record end inside a field is no blank": (record * 3 + b'"000002","a' + end + b'b"' + end, False),
    }
    for name, (data, expected) in cases.items():
        path.write_bytes(data)
        assert read._has_inner_blank(path, end) is expected, name


def test_the_doubled_record_end_is_located_where_it_starts() -> None:
    assert read._doubled_end_at(b'"a"\r\n"b"\r\n\r\n"c"', b"\r\n") == 8
    assert read._doubled_end_at(b'"a"\n\r\n"b"\r\n', b"\r\n") == -1  # LF then CRLF is not two CRLFs
    assert read._doubled_end_at(b'"a"\r\r', b"\r") == 3
    assert read._doubled_end_at(b"", b"\n") == -1


def test_a_utf8_export_is_read_in_place(tmp_path: Path) -> None:
    source = tmp_path / "VP-Clients-20261120.csv"
    source.write_bytes(b'\xef\xbb\xbf"Chart #"\r"000001"\r')
    with readable(source, "utf-8-bom", tmp_path) as text:
        assert text.path == source
