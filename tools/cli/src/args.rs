//! The command line (clap derive) and the parsing of job params from it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// darkroom's command line: upload photos and datasets, run batch jobs and watch them.
#[derive(Debug, Parser)]
#[command(name = "darkroom", version, about, propagate_version = true)]
pub struct Cli {
    /// Base URL of the darkroom app.
    #[arg(long, global = true, env = "DARKROOM_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// API token, sent as `Authorization: Bearer TOKEN` (the app's `api_token` variable).
    #[arg(long, global = true, env = "DARKROOM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload images: files, or every image in a directory (other files are skipped).
    Upload(UploadArgs),
    /// Datasets (CSV with a header row, or NDJSON) for jobs to read.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Batch jobs: run one with live progress, check on it, fetch its result.
    #[command(subcommand)]
    Job(JobCommand),
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Image files, or directories whose images are uploaded (not recursively).
    #[arg(required = true, value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,
    /// How many uploads run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Upload a CSV or NDJSON file; prints its id, rows and columns.
    Upload {
        file: PathBuf,
        /// The file's format (default: from its extension: .csv, .ndjson or .jsonl).
        #[arg(long, value_enum)]
        format: Option<DatasetFormat>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatasetFormat {
    Csv,
    Ndjson,
}

impl DatasetFormat {
    /// The format a file's extension names, if any.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Ndjson => "application/x-ndjson",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Create a job and drive it to the end with a live progress bar; prints the result.
    Run(RunArgs),
    /// A job's state, shard and item counts, and errors.
    Status { id: String },
    /// A finished job's result (JSON, or CSV with --csv for `aggregate`).
    Result {
        id: String,
        /// The result as CSV (tasks with a CSV output: `aggregate`).
        #[arg(long)]
        csv: bool,
    },
    /// Jobs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue a listing from the `next` cursor it printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Stop a job from starting new shards.
    Cancel { id: String },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["dataset", "all_images", "image"])))]
pub struct RunArgs {
    /// The task (`GET /api/tasks` lists them): aggregate, matrix_stats, variant, ...
    pub task: String,
    /// Run over this dataset.
    #[arg(long, value_name = "ID")]
    pub dataset: Option<String>,
    /// Run over every stored image.
    #[arg(long)]
    pub all_images: bool,
    /// Run over these images (repeat the flag, or give several ids).
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub image: Vec<String>,
    /// One param, `key=value`: the value is JSON if it parses as JSON, else a string
    /// (`k=0.9` is a number, `k=clarendon` a string, `k='["a","b"]'` an array).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, Value)>,
    /// Params as one JSON object; `--param` values are set on top of it.
    #[arg(long = "params", value_name = "JSON", value_parser = parse_params_json)]
    pub params_json: Option<Map<String, Value>>,
    /// Items (rows or images) per shard.
    #[arg(long)]
    pub shard_size: Option<u64>,
    /// Shards the server runs at once for this job.
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Print the result as CSV (tasks with a CSV output: `aggregate`).
    #[arg(long)]
    pub csv: bool,
}

/// `key=value`: the value as JSON when it parses, else as a string.
pub fn parse_param(s: &str) -> Result<(String, Value), String> {
    let (key, value) = s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("{s:?} has no key before '='"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// `--params`: a JSON object.
pub fn parse_params_json(s: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(s) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("expected a JSON object, got {other}")),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

impl RunArgs {
    /// The `POST /api/jobs` body.
    pub fn request(&self) -> Value {
        let input = if let Some(dataset) = &self.dataset {
            serde_json::json!({ "dataset": dataset })
        } else if self.all_images {
            serde_json::json!({ "images": "all" })
        } else {
            serde_json::json!({ "images": self.image })
        };
        let mut params = self.params_json.clone().unwrap_or_default();
        for (key, value) in &self.params {
            params.insert(key.clone(), value.clone());
        }
        let mut body = Map::new();
        body.insert("task".into(), Value::String(self.task.clone()));
        body.insert("input".into(), input);
        if !params.is_empty() {
            body.insert("params".into(), Value::Object(params));
        }
        if let Some(n) = self.shard_size {
            body.insert("shard_size".into(), n.into());
        }
        if let Some(n) = self.concurrency {
            body.insert("concurrency".into(), n.into());
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("darkroom").chain(args.iter().copied()))
    }

    fn run_args(args: &[&str]) -> RunArgs {
        match parse(args).unwrap_or_else(|e| panic!("{e}")).command {
            Command::Job(JobCommand::Run(run)) => run,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn param_values_are_json_when_they_parse_and_strings_otherwise() {
        assert_eq!(parse_param("threshold=0.9"), Ok(("threshold".into(), json!(0.9))));
        assert_eq!(parse_param("preset=clarendon"), Ok(("preset".into(), json!("clarendon"))));
        assert_eq!(parse_param(r#"group_by=["merchant"]"#), Ok(("group_by".into(), json!(["merchant"]))));
        assert_eq!(parse_param("k=8"), Ok(("k".into(), json!(8))));
        assert_eq!(parse_param("flag=true"), Ok(("flag".into(), json!(true))));
        assert_eq!(parse_param("name="), Ok(("name".into(), json!(""))));
        // Only the first '=' splits: the rest belongs to the value.
        assert_eq!(parse_param("query=w=512&format=webp"), Ok(("query".into(), json!("w=512&format=webp"))));
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=1").is_err());
    }

    #[test]
    fn params_json_must_be_an_object() {
        assert_eq!(parse_params_json(r#"{"k": 8}"#).unwrap().get("k"), Some(&json!(8)));
        assert!(parse_params_json("[1]").unwrap_err().contains("object"));
        assert!(parse_params_json("{").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn job_run_builds_the_request_with_param_overriding_params() {
        let run = run_args(&[
            "job", "run", "aggregate", "--dataset", "abc",
            "--params", r#"{"group_by": ["merchant"], "values": {"amount": ["sum"]}}"#,
            "--param", r#"values={"amount": ["sum", "count"]}"#,
            "--shard-size", "1000", "--concurrency", "3",
        ]);
        assert_eq!(
            run.request(),
            json!({"task": "aggregate", "input": {"dataset": "abc"},
                   "params": {"group_by": ["merchant"], "values": {"amount": ["sum", "count"]}},
                   "shard_size": 1000, "concurrency": 3})
        );
    }

    #[test]
    fn job_run_inputs_all_images_or_listed_ones_and_no_empty_params() {
        let all = run_args(&["job", "run", "variant", "--all-images", "-p", "preset=clarendon"]);
        assert_eq!(all.request(), json!({"task": "variant", "input": {"images": "all"}, "params": {"preset": "clarendon"}}));
        let some = run_args(&["job", "run", "vectorize", "--image", "a", "b", "--image", "c"]);
        assert_eq!(some.request(), json!({"task": "vectorize", "input": {"images": ["a", "b", "c"]}}));
    }

    #[test]
    fn job_run_needs_exactly_one_input() {
        assert!(parse(&["job", "run", "aggregate"]).is_err());
        assert!(parse(&["job", "run", "aggregate", "--dataset", "x", "--all-images"]).is_err());
        assert!(parse(&["job", "run", "aggregate", "--dataset", "x", "--param", "oops"]).is_err());
    }

    #[test]
    fn global_flags_go_anywhere_and_upload_concurrency_is_bounded() {
        let cli = parse(&["job", "status", "j1", "--url", "http://h:1", "--token", "t"]).unwrap();
        assert_eq!((cli.url.as_str(), cli.token.as_deref()), ("http://h:1", Some("t")));
        assert!(parse(&["upload", "x", "--concurrency", "0"]).is_err());
        assert!(parse(&["upload"]).is_err());
    }

    #[test]
    fn dataset_format_follows_the_extension() {
        use std::path::Path;
        assert_eq!(DatasetFormat::from_path(Path::new("a/sales.CSV")), Some(DatasetFormat::Csv));
        assert_eq!(DatasetFormat::from_path(Path::new("rows.jsonl")), Some(DatasetFormat::Ndjson));
        assert_eq!(DatasetFormat::from_path(Path::new("rows.txt")), None);
    }
}
