//! `darkroom dataset upload FILE`: streams the file to `POST /api/datasets`, or in
//! resumable parts past [`crate::resumable::THRESHOLD`].

use crate::Io;
use crate::args::DatasetFormat;
use crate::client::{Client, json_body};
use crate::error::{Error, Result};
use indicatif::HumanBytes;
use serde_json::Value;
use std::path::Path;

/// Uploads `file` (its format from `format`, else its extension); answers the dataset.
pub fn upload(client: &Client, file: &Path, format: Option<DatasetFormat>) -> Result<(Value, bool)> {
    let format = format.or_else(|| DatasetFormat::from_path(file)).ok_or_else(|| {
        Error::Usage(format!("{}: say --format csv or --format ndjson (the extension does not tell)", file.display()))
    })?;
    let body = std::fs::File::open(file).map_err(|source| Error::File { path: file.to_owned(), source })?;
    // Past the request cap of some platforms: in resumable parts.
    if body.metadata().map_or(0, |m| m.len()) > crate::resumable::THRESHOLD {
        return crate::resumable::upload(client, file, "dataset", format.content_type());
    }
    // A File body is sent with its Content-Length, streamed from disk.
    let response = client.post("/api/datasets", body, format.content_type(), "application/json")?;
    let created = response.status().as_u16() == 201;
    Ok((json_body(response, &client.url("/api/datasets"))?, created))
}

pub fn command(client: &Client, file: &Path, format: Option<DatasetFormat>, io: &mut Io<'_>) -> Result<i32> {
    let (dataset, created) = upload(client, file, format)?;
    let columns: Vec<String> = dataset["columns"]
        .as_array()
        .map(|cs| cs.iter().map(|c| format!("{} ({})", c["name"].as_str().unwrap_or("?"), c["type"].as_str().unwrap_or("?"))).collect())
        .unwrap_or_default();
    writeln!(io.out, "id       {}", dataset["id"].as_str().unwrap_or("?"))?;
    writeln!(io.out, "status   {}", if created { "created" } else { "already stored" })?;
    writeln!(io.out, "format   {}", dataset["format"].as_str().unwrap_or("?"))?;
    writeln!(io.out, "rows     {}", dataset["rows"])?;
    writeln!(io.out, "bytes    {} ({})", dataset["bytes"], HumanBytes(dataset["bytes"].as_u64().unwrap_or(0)))?;
    writeln!(io.out, "columns  {}", columns.join(", "))?;
    Ok(0)
}
