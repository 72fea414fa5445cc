//! `darkroom-host [--listen ADDR] [--variable k=v]... [--state-dir DIR]
//! [--runtime-config-file FILE] [--kv-fail-write N] [--kv-fail-writes-after N] [--max-instance-memory BYTES]
//! [--kv-max-value-bytes N] [--pooling on|off] [--sqlite-journal spin|wal] [MANIFEST]`: run, print the error chain, exit.

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("\nCaused by:\n      {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: darkroom-host [--listen ADDR] [--variable k=v]... [--state-dir DIR] \
[--runtime-config-file FILE] [--kv-fail-write N] [--kv-fail-writes-after N] [--max-instance-memory BYTES] \
[--kv-max-value-bytes N] [--pooling on|off] [--sqlite-journal spin|wal] [MANIFEST=spin.toml]";

fn run() -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    use darkroom_host::{HostConfig, KvFault};

    let mut config = HostConfig::new("spin.toml");
    let listen = std::env::var("SPIN_HTTP_LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    config.listen = listen
        .parse()
        .with_context(|| format!("invalid listen address {listen:?}"))?;
    if let Ok(fault) = std::env::var("DARKROOM_HOST_KV_FAULT") {
        config.kv_fault = Some(fault.parse::<KvFault>().map_err(anyhow::Error::msg)?);
    }

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> anyhow::Result<String> {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--listen" => {
                let v = value()?;
                config.listen = v
                    .parse()
                    .with_context(|| format!("invalid listen address {v:?}"))?;
            }
            "--variable" => {
                let v = value()?;
                let (k, val) = v
                    .split_once('=')
                    .with_context(|| format!("--variable expects k=v, got {v:?}"))?;
                config.variables.push((k.to_owned(), val.to_owned()));
            }
            "--state-dir" => config.state_dir = Some(value()?.into()),
            "--runtime-config-file" => config.runtime_config_file = Some(value()?.into()),
            "--kv-fail-write" => config.kv_fault = Some(KvFault::FailNthWrite(value()?.parse()?)),
            "--kv-fail-writes-after" => {
                config.kv_fault = Some(KvFault::FailWritesAfter(value()?.parse()?))
            }
            "--max-instance-memory" => config.max_instance_memory = Some(value()?.parse()?),
            "--kv-max-value-bytes" => config.kv_max_value_bytes = Some(value()?.parse()?),
            // Spin's rollback journal by default (src/kv/sqlite.rs); `wal` to compare.
            "--sqlite-journal" => match value()?.as_str() {
                "spin" => _ = darkroom_host::choose_wal(false),
                "wal" => _ = darkroom_host::choose_wal(true),
                v => bail!("--sqlite-journal expects spin or wal, got {v:?}"),
            },
            // Spin pools instances by default (docs/performance.md); `off` measures without.
            "--pooling" => match value()?.as_str() {
                "on" => _ = darkroom_host::allocation::choose_pooling(true),
                "off" => _ = darkroom_host::allocation::choose_pooling(false),
                v => bail!("--pooling expects on or off, got {v:?}"),
            },
            f if f.starts_with('-') => bail!("unknown flag {f}\n{USAGE}"),
            _ => config.manifest = arg.into(),
        }
    }

    let host = darkroom_host::spawn(config)?;
    print!("{}", host.banner());
    loop {
        std::thread::park();
    }
}
