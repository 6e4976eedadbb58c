//! What the bench asks the engine beyond harnessgym's own API: the data root's layer total
//! (`GET /system/df`), the running containers (to tell whether the machine is shared), and a
//! census of the requests a `harnessgym run` makes (from its debug log).
//!
//! bollard 0.21 deserialises `/system/df` into the API 1.52 shape, which has no `LayersSize`; an
//! Engine 20.10 answers in the old shape. So these two reads are plain HTTP/1.0 requests on the
//! engine's socket, parsed as JSON.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use crate::util::{BenchResult, Ctx};

/// `GET path` on the engine at `host` (`unix://…`, `tcp://…` or `http://…`), as JSON.
fn get_json(host: &str, path: &str) -> BenchResult<Value> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
    let mut raw = Vec::new();
    let timeout = Some(Duration::from_secs(300));
    if let Some(socket) = host.strip_prefix("unix://") {
        let mut stream = std::os::unix::net::UnixStream::connect(socket).ctx(host)?;
        stream.set_read_timeout(timeout).ctx(host)?;
        stream.write_all(request.as_bytes()).ctx(host)?;
        stream.read_to_end(&mut raw).ctx(host)?;
    } else if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let mut stream = std::net::TcpStream::connect(addr.trim_end_matches('/')).ctx(host)?;
        stream.set_read_timeout(timeout).ctx(host)?;
        stream.write_all(request.as_bytes()).ctx(host)?;
        stream.read_to_end(&mut raw).ctx(host)?;
    } else {
        return Err(format!(
            "{host}: only unix:// and plain tcp:// engines are measured"
        ));
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ctx(&format!("GET {path}: no HTTP header"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if !head.lines().next().is_some_and(|l| l.contains(" 200")) {
        return Err(format!(
            "GET {path}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    serde_json::from_slice(&body).ctx(&format!("GET {path}: JSON"))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[(eol + 4 + size).min(body.len())..];
    }
    out
}

/// The engine's total of image layer bytes (`LayersSize`; newer engines: `ImageUsage.TotalSize`).
/// Slow on drivers without native diffs (it walks every layer): call it outside timings.
pub fn layers_size(host: &str) -> BenchResult<f64> {
    let df = get_json(host, "/system/df")?;
    df.get("LayersSize")
        .and_then(Value::as_f64)
        .or_else(|| df.pointer("/ImageUsage/TotalSize").and_then(Value::as_f64))
        .ctx("GET /system/df: LayersSize")
}

/// Running containers: (ours, everyone else's), ours being those labelled with `run`.
pub fn running_containers(host: &str, run: &str) -> BenchResult<(usize, usize)> {
    let list = get_json(host, "/containers/json")?;
    let all = list.as_array().ctx("GET /containers/json: a list")?;
    let ours = all
        .iter()
        .filter(|c| {
            c.pointer("/Labels/dev.harnessgym.run")
                .and_then(Value::as_str)
                == Some(run)
        })
        .count();
    Ok((ours, all.len() - ours))
}

/// Requests a run made, by kind, counted from its `bollard=debug` log (one line per request).
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// Kind → count.
    pub kinds: BTreeMap<&'static str, usize>,
}

impl Census {
    /// Count the request lines of a debug log.
    pub fn from_log(log: &str) -> Census {
        let mut census = Census::default();
        for line in log.lines() {
            let Some(path) = request_path(line) else {
                continue;
            };
            *census.kinds.entry(kind(path)).or_default() += 1;
        }
        census
    }

    /// All requests.
    pub fn total(&self) -> usize {
        self.kinds.values().sum()
    }

    /// `12 archive, 30 exec, …`, most frequent first.
    pub fn describe(&self) -> String {
        let mut kinds: Vec<_> = self.kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The request path of a bollard debug line (`… unix://<hex>/containers/…`), if it is one.
fn request_path(line: &str) -> Option<&str> {
    for scheme in ["unix://", "http://", "https://"] {
        if let Some(at) = line.find(scheme) {
            let rest = &line[at + scheme.len()..];
            let slash = rest.find('/')?;
            return Some(&rest[slash..]);
        }
    }
    None
}

fn kind(path: &str) -> &'static str {
    let bare = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = bare.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["containers", _, "archive"] => "archive transfers (put/get/stat)",
        ["containers", _, "exec"] | ["exec", _, "start"] | ["exec", _, "json"] => {
            "exec requests (create/start/inspect)"
        }
        ["containers", "json"] => "other (ping, version, info, lists, removes)",
        ["containers", "create"] => "container creates",
        ["containers", _, "start"] => "container starts",
        ["containers", _, "kill" | "stop" | "wait"] => "container stops",
        ["containers", _] => "container removes",
        ["containers", _, "json"] => "container inspects",
        ["images", "load"] => "image loads",
        ["commit"] => "commits",
        ["images", ..] if bare.ends_with("/json") => "image inspects",
        ["images", .., "tag"] => "image tags",
        _ => "other (ping, version, info, lists, removes)",
    }
}
