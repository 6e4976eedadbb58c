//! Credentials passed by name: their values go into the agent's exec environment and nowhere
//! else, and every text harnessgym writes about a phase is masked with them.
//!
//! A value is read from harnessgym's own environment when the runner is made. It never enters a
//! container spec (so no committed layer carries it), a log line, a transcript, `run_config.json`
//! or an error message: [`Secrets`] prints names only, and [`Secrets::mask`] replaces every
//! occurrence of a value by `***` in what is written (the agent's captured output included).

/// The shortest value that is masked: shorter ones would garble ordinary text.
const MIN_MASKED_LEN: usize = 4;
/// What a value is replaced with.
pub const MASK: &str = "***";

/// Named values for an agent's environment.
#[derive(Clone, Default)]
pub struct Secrets {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.names())
            .finish()
    }
}

impl Secrets {
    /// The variables of `names` that `lookup` finds set (and not empty), in order, once each.
    pub fn from_lookup(names: &[String], lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for name in names {
            if pairs.iter().any(|(n, _)| n == name) {
                continue;
            }
            if let Some(value) = lookup(name).filter(|v| !v.is_empty()) {
                pairs.push((name.clone(), value));
            }
        }
        Secrets { pairs }
    }

    /// The variables of `names` set in this process's environment.
    pub fn from_process_env(names: &[String]) -> Self {
        Self::from_lookup(names, &|name| std::env::var(name).ok())
    }

    /// The names that have values.
    pub fn names(&self) -> Vec<&str> {
        self.pairs.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// `NAME=value` for an exec's environment.
    pub fn exec_env(&self) -> Vec<String> {
        self.pairs.iter().map(|(n, v)| format!("{n}={v}")).collect()
    }

    /// `text` with every value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for (_, value) in &self.pairs {
            if value.len() >= MIN_MASKED_LEN && masked.contains(value.as_str()) {
                masked = masked.replace(value.as_str(), MASK);
            }
        }
        masked
    }

    /// Mask a file in place (a phase's captured output); a missing file is left alone.
    pub fn mask_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        if self.pairs.is_empty() {
            return Ok(());
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let text = String::from_utf8_lossy(&bytes);
        let masked = self.mask(&text);
        if masked != text {
            std::fs::write(path, masked)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let names = ["API_KEY", "UNSET", "API_KEY", "EMPTY", "SHORT"].map(String::from);
        Secrets::from_lookup(&names, &|name| match name {
            "API_KEY" => Some("sk-live-0123456789".into()),
            "EMPTY" => Some(String::new()),
            "SHORT" => Some("ab".into()),
            _ => None,
        })
    }

    #[test]
    fn only_set_variables_are_passed_once_each() {
        let s = secrets();
        assert_eq!(s.names(), ["API_KEY", "SHORT"]);
        assert_eq!(s.exec_env(), ["API_KEY=sk-live-0123456789", "SHORT=ab"]);
    }

    #[test]
    fn values_are_masked_everywhere_and_never_debug_printed() {
        let s = secrets();
        let text = "key sk-live-0123456789 and again sk-live-0123456789; about";
        assert_eq!(s.mask(text), "key *** and again ***; about");
        let debug = format!("{s:?}");
        assert!(!debug.contains("sk-live"), "{debug}");
        assert!(debug.contains("API_KEY"));
    }

    #[test]
    fn files_are_masked_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stdout.txt");
        std::fs::write(&path, "token=sk-live-0123456789\n").expect("write");
        secrets().mask_file(&path).expect("mask");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "token=***\n");
        secrets()
            .mask_file(&dir.path().join("absent"))
            .expect("absent is fine");
    }
}
