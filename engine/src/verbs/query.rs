//! `mimamori query`: one SQL query through the policy gateway, printed or written to a file.

use std::path::Path;

use anyhow::{Context, Result, bail};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};

use crate::cli::QueryFormat;
use crate::gateway::{Gateway, QueryRequest, Released};

pub struct Args<'a> {
    pub workspace: &'a Path,
    pub user: &'a str,
    pub purpose: &'a str,
    pub sql: &'a str,
    pub format: QueryFormat,
    pub out: Option<&'a Path>,
    pub external: Option<&'a str>,
}

pub fn run(a: &Args) -> Result<()> {
    if a.format == QueryFormat::Parquet && a.out.is_none() {
        bail!("--format parquet needs --out FILE");
    }
    let gateway = Gateway::open(a.workspace)?;
    let released =
        gateway.query(&QueryRequest { user: a.user, purpose: a.purpose, sql: a.sql, external: a.external })?;
    for r in &released.rewrites {
        eprintln!("rewritten: {r}");
    }
    let bytes = render(&released, a.format)?;
    match a.out {
        Some(out) => {
            crate::staging::write_atomically(out, &bytes)?;
            eprintln!("{} row(s) written to {} (audit entry {})", released.rows, out.display(), released.audit_seq);
        }
        None => {
            crate::print_stdout(std::str::from_utf8(&bytes).context("the result is not text")?)?;
        }
    }
    Ok(())
}

fn render(r: &Released, format: QueryFormat) -> Result<Vec<u8>> {
    Ok(match format {
        QueryFormat::Table => {
            let mut s = datafusion::arrow::util::pretty::pretty_format_batches(&r.batches)?.to_string();
            if r.batches.is_empty() {
                s = r.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(" | ");
                s.push_str("\n(no rows)");
            }
            s.push('\n');
            s.into_bytes()
        }
        QueryFormat::Csv => csv(&r.schema, &r.batches)?,
        QueryFormat::Json => {
            let mut rows = Vec::new();
            for b in &r.batches {
                rows.extend(json_rows(b)?);
            }
            (serde_json::to_string_pretty(&rows)? + "\n").into_bytes()
        }
        QueryFormat::Parquet => {
            let mut buf = Vec::new();
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, r.schema.clone(), None)?;
            for b in &r.batches {
                w.write(b)?;
            }
            w.close()?;
            buf
        }
    })
}

fn csv(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(schema.fields().iter().map(|f| f.name().as_str()))?;
    let opts = FormatOptions::default();
    for b in batches {
        let fs: Vec<ArrayFormatter> =
            b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts)).collect::<Result<_, _>>()?;
        for row in 0..b.num_rows() {
            w.write_record(fs.iter().map(|f| f.value(row).to_string()))?;
        }
    }
    w.flush()?;
    w.into_inner().context("cannot finish the CSV")
}

fn json_rows(b: &RecordBatch) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let opts = FormatOptions::default();
    let schema = b.schema();
    let fs: Vec<ArrayFormatter> =
        b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts)).collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(b.num_rows());
    for row in 0..b.num_rows() {
        let mut m = serde_json::Map::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let col = b.column(i);
            let v = if col.is_null(row) {
                serde_json::Value::Null
            } else {
                let text = fs[i].value(row).to_string();
                let numeric = matches!(
                    f.data_type(),
                    DataType::Int8
                        | DataType::Int16
                        | DataType::Int32
                        | DataType::Int64
                        | DataType::UInt8
                        | DataType::UInt16
                        | DataType::UInt32
                        | DataType::UInt64
                        | DataType::Float32
                        | DataType::Float64
                        | DataType::Decimal128(..)
                );
                match (numeric, serde_json::from_str::<serde_json::Number>(&text)) {
                    (true, Ok(n)) => serde_json::Value::Number(n),
                    _ if f.data_type() == &DataType::Boolean => serde_json::Value::Bool(text == "true"),
                    _ => serde_json::Value::String(text),
                }
            };
            m.insert(f.name().clone(), v);
        }
        out.push(m);
    }
    Ok(out)
}
