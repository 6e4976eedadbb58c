//! The server: accept on loopback, log each request, route it to its API, answer with the
//! script's next step for that API.
//!
//! Only requests that offer the model tools are agent turns and consume a step; anything else a
//! CLI sends (a title or a summary request) gets a short text and leaves the script alone.
//! Progress is kept per API in the state file when one is given, so the phases of one session
//! (attempt, reflect, build), each with a server of its own, play one script in order.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::anthropic::{self, Reply};
use super::http::{self, Request};
use super::openai;
use super::script::{Api, Step};

/// Header names whose values never reach the log.
const SECRET_HEADER_WORDS: [&str; 5] = ["key", "auth", "token", "cookie", "secret"];

/// How far each API is in the script.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    /// Next Anthropic step.
    #[serde(default)]
    pub anthropic: usize,
    /// Next OpenAI step.
    #[serde(default)]
    pub openai: usize,
}

impl Progress {
    fn slot(&mut self, api: Api) -> &mut usize {
        match api {
            Api::Anthropic => &mut self.anthropic,
            Api::OpenAi => &mut self.openai,
        }
    }
}

/// What the server plays and where it keeps its records.
pub struct Server {
    steps: HashMap<Api, Vec<Step>>,
    progress: Mutex<Progress>,
    state_path: Option<PathBuf>,
    log: Option<Mutex<std::fs::File>>,
    requests: std::sync::atomic::AtomicUsize,
}

/// The answer chosen for one request.
enum Answer {
    Json(u16, Value),
    Step(Api, usize, Step),
    Aux(Api),
}

impl Server {
    /// A server playing `steps`, starting from `progress`.
    pub fn new(
        steps: HashMap<Api, Vec<Step>>,
        progress: Progress,
        state_path: Option<PathBuf>,
        log: Option<std::fs::File>,
    ) -> Self {
        Server {
            steps,
            progress: Mutex::new(progress),
            state_path,
            log: log.map(Mutex::new),
            requests: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Serve one connection: one request, one answer.
    pub async fn serve(&self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let request = match http::read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!("model server: {err}");
                let body = json!({"error": {"message": err.to_string()}});
                let _ = http::write_json(&mut write, 400, &body).await;
                return;
            }
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let answer = self.choose(&request, &body);
        self.log_request(&request, &body, &answer);
        let written = match answer {
            Answer::Json(status, value) => http::write_json(&mut write, status, &value).await,
            Answer::Step(api, index, step) => self.play(&mut write, api, index, step, &body).await,
            Answer::Aux(api) => {
                let n = self.requests.load(std::sync::atomic::Ordering::SeqCst);
                let id = format!("aux_{n}");
                reply(&mut write, api, &Reply::Text("OK."), &body, &id).await
            }
        };
        if let Err(err) = written {
            tracing::debug!("model server: the client went away: {err}");
        }
    }

    fn choose(&self, request: &Request, body: &Value) -> Answer {
        let path = request.path();
        let api = match (request.method.as_str(), path) {
            ("POST", "/v1/messages/count_tokens") => {
                return Answer::Json(200, json!({"input_tokens": 10}));
            }
            ("POST", "/v1/messages") => Api::Anthropic,
            ("POST", "/v1/responses") => Api::OpenAi,
            _ => {
                let message = format!("the scripted model server does not serve {path}");
                return Answer::Json(404, json!({"error": {"message": message}}));
            }
        };
        let offers_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        if !offers_tools {
            return Answer::Aux(api);
        }
        let (index, step) = self.next_step(api);
        Answer::Step(api, index, step)
    }

    /// The next step of `api` (a closing text once the script is played out).
    fn next_step(&self, api: Api) -> (usize, Step) {
        let mut progress = match self.progress.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = progress.slot(api);
        let index = *slot;
        *slot += 1;
        let snapshot = *progress;
        drop(progress);
        self.save_progress(snapshot);
        let step = self
            .steps
            .get(&api)
            .and_then(|steps| steps.get(index))
            .cloned()
            .unwrap_or_else(|| Step::Text("The script has no more turns.".into()));
        (index, step)
    }

    fn save_progress(&self, progress: Progress) {
        let Some(path) = &self.state_path else {
            return;
        };
        let text = serde_json::to_string(&progress).unwrap_or_default();
        let temp = path.with_extension("tmp");
        let saved = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path));
        if let Err(err) = saved {
            tracing::warn!("model server: cannot save {}: {err}", path.display());
        }
    }

    async fn play(
        &self,
        write: &mut tokio::net::tcp::OwnedWriteHalf,
        api: Api,
        index: usize,
        step: Step,
        body: &Value,
    ) -> std::io::Result<()> {
        let id = format!("hg_{}_{index}", api.name());
        match step {
            Step::Error { status, message } => {
                let value = match api {
                    Api::Anthropic => anthropic::error(status, &message),
                    Api::OpenAi => openai::error(status, &message),
                };
                http::write_json(write, status, &value).await
            }
            Step::Stall(duration) => {
                tokio::time::sleep(duration).await;
                let text = format!("Stalled for {:.1} s.", duration.as_secs_f64());
                reply(write, api, &Reply::Text(&text), body, &id).await
            }
            Step::Text(text) => reply(write, api, &Reply::Text(&text), body, &id).await,
            Step::Tool {
                name,
                namespace,
                input,
            } => {
                let call = format!("call_{id}");
                let tool = Reply::Tool {
                    id: &call,
                    name: &name,
                    namespace: namespace.as_deref(),
                    input: &input,
                };
                reply(write, api, &tool, body, &id).await
            }
        }
    }

    fn log_request(&self, request: &Request, body: &Value, answer: &Answer) {
        let n = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let Some(log) = &self.log else {
            return;
        };
        let (api, step, reply) = match answer {
            Answer::Json(status, _) => (Value::Null, Value::Null, json!(format!("http {status}"))),
            Answer::Step(api, index, step) => (json!(api.name()), json!(index), step_kind(step)),
            Answer::Aux(api) => (json!(api.name()), Value::Null, json!("aux")),
        };
        let body = if body.is_null() && !request.body.is_empty() {
            json!(String::from_utf8_lossy(&request.body))
        } else {
            body.clone()
        };
        let line = json!({
            "n": n,
            "method": request.method,
            "target": request.target,
            "headers": masked_headers(&request.headers),
            "api": api,
            "step": step,
            "reply": reply,
            "body": body,
        });
        let mut file = match log.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(err) = writeln!(file, "{line}").and_then(|()| file.flush()) {
            tracing::warn!("model server: cannot write the request log: {err}");
        }
    }
}

fn step_kind(step: &Step) -> Value {
    match step {
        Step::Tool {
            name,
            namespace: Some(namespace),
            ..
        } => json!(format!("tool {namespace}.{name}")),
        Step::Tool { name, .. } => json!(format!("tool {name}")),
        Step::Text(_) => json!("text"),
        Step::Stall(d) => json!(format!("stall {:.1}", d.as_secs_f64())),
        Step::Error { status, .. } => json!(format!("error {status}")),
    }
}

/// Headers as a map, with the values of credential-bearing headers replaced by `***`.
pub fn masked_headers(headers: &[(String, String)]) -> Value {
    let map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| {
            let secret = SECRET_HEADER_WORDS.iter().any(|w| name.contains(w));
            let shown = if secret { "***" } else { value.as_str() };
            (name.clone(), json!(shown))
        })
        .collect();
    Value::Object(map)
}

async fn reply(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    api: Api,
    answer: &Reply<'_>,
    body: &Value,
    id: &str,
) -> std::io::Result<()> {
    let model = body["model"].as_str().unwrap_or("scripted-model");
    let streamed = body["stream"].as_bool().unwrap_or(false);
    match api {
        Api::Anthropic if streamed => {
            anthropic::stream(write, answer, model, &format!("msg_{id}")).await
        }
        Api::Anthropic => {
            let message = anthropic::message(answer, model, &format!("msg_{id}"));
            http::write_json(write, 200, &message).await
        }
        Api::OpenAi => openai::stream(write, answer, model, &format!("resp_{id}")).await,
    }
}

/// Progress saved by an earlier server of the same session, else the start.
pub fn load_progress(path: Option<&Path>) -> Progress {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_masked() {
        let headers = vec![
            ("x-api-key".to_string(), "sk-secret".to_string()),
            ("authorization".to_string(), "Bearer sk-secret".to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let shown = masked_headers(&headers).to_string();
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("application/json"));
    }

    #[test]
    fn progress_survives_a_restart_and_requests_without_tools_do_not_consume() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state.json");
        let steps = HashMap::from([(
            Api::Anthropic,
            vec![Step::Text("one".into()), Step::Text("two".into())],
        )]);
        let server = Server::new(
            steps.clone(),
            Progress::default(),
            Some(state.clone()),
            None,
        );
        let request = Request {
            method: "POST".into(),
            target: "/v1/messages?beta=true".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert!(matches!(
            server.choose(&request, &json!({"tools": []})),
            Answer::Aux(Api::Anthropic)
        ));
        assert!(matches!(
            server.choose(&request, &json!({"tools": [{"name": "Bash"}]})),
            Answer::Step(Api::Anthropic, 0, Step::Text(t)) if t == "one"
        ));
        let restarted = Server::new(steps, load_progress(Some(&state)), None, None);
        assert!(matches!(
            restarted.choose(&request, &json!({"tools": [{"name": "Bash"}]})),
            Answer::Step(Api::Anthropic, 1, Step::Text(t)) if t == "two"
        ));
    }
}
