# Reads Parquet files with a real reader (pyarrow or DuckDB) and prints, as JSON, each file's column
# types, key-value metadata, codecs and rows — every value rendered as the CSV renders it (null,
# text, integers, true/false, ISO 8601 UTC seconds, YYYY-MM-DD, compact JSON arrays), so the test
# can compare them with the CSV of the same window. Usage: read_parquet.py pyarrow|duckdb FILE…
import datetime
import json
import sys


def render(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise SystemExit('a timestamp without a time zone: %r' % (v,))
        u = v.astimezone(datetime.timezone.utc)
        if u.microsecond:
            raise SystemExit('a timestamp with fractional seconds: %r' % (v,))
        return u.strftime('%Y-%m-%dT%H:%M:%SZ')
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, list):
        return json.dumps(v, ensure_ascii=False, separators=(',', ':'))
    if isinstance(v, str):
        return v
    raise SystemExit('unexpected value %r of %s' % (v, type(v)))


def with_pyarrow(path):
    import pyarrow.parquet as pq
    f = pq.ParquetFile(path)
    table = f.read()
    meta = f.metadata
    codecs = sorted({meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)})
    kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items() if not k.startswith(b'ARROW:')}
    columns = [{'name': fld.name, 'type': str(fld.type), 'nullable': fld.nullable} for fld in table.schema]
    rows = [[render(r[c['name']]) for c in columns] for r in table.to_pylist()]
    return {'columns': columns, 'metadata': kv, 'codecs': codecs, 'row_groups': meta.num_row_groups, 'rows': rows}


def with_duckdb(path):
    import duckdb
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    source = "read_parquet('" + path.replace("'", "''") + "')"
    rel = con.sql('select * from ' + source)
    columns = [{'name': n, 'type': str(t)} for n, t in zip(rel.columns, rel.types)]
    # Python's datetimes with a time zone need pytz in DuckDB's client: instants come as epoch microseconds.
    instant = [c['type'] == 'TIMESTAMP WITH TIME ZONE' for c in columns]
    select = ', '.join(('epoch_us("%s")' if i else '"%s"') % c['name'] for c, i in zip(columns, instant))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    as_instant = lambda v: None if v is None else epoch + datetime.timedelta(microseconds=v)
    rows = [[render(as_instant(v) if i else v) for v, i in zip(r, instant)] for r in con.sql('select ' + select + ' from ' + source).fetchall()]
    kv = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
          for k, v in con.execute("select key, value from parquet_kv_metadata('" + path.replace("'", "''") + "')").fetchall()}
    kv = {k: v for k, v in kv.items() if not k.startswith('ARROW:')}
    return {'columns': columns, 'metadata': kv, 'rows': rows}


reader = {'pyarrow': with_pyarrow, 'duckdb': with_duckdb}[sys.argv[1]]
print(json.dumps({p: reader(p) for p in sys.argv[2:]}, ensure_ascii=False))
