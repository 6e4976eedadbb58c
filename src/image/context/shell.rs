//! The Dockerfile shell lexer: split an instruction's arguments into words, removing quotes and
//! expanding `$VAR`, `${VAR}`, `${VAR:-word}` and `${VAR:+word}` against the declared ARGs.

use std::collections::HashMap;

/// Split `input` into words like the Dockerfile shell lexer: whitespace separates words, quotes
/// group and are removed, `$VAR`/`${VAR}`/`${VAR:-w}`/`${VAR:+w}` expand outside single quotes.
pub(super) fn shell_words(
    input: &str,
    scope: &HashMap<String, String>,
    escape: char,
) -> Result<Vec<String>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    word.push(c);
                }
                i += 1;
            }
            Some(_) => {
                if c == '"' {
                    quote = None;
                    i += 1;
                } else if c == escape
                    && chars
                        .get(i + 1)
                        .is_some_and(|&n| n == '"' || n == '$' || n == escape)
                {
                    word.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_var(&chars, i, scope, escape, &mut word)?;
                } else {
                    word.push(c);
                    i += 1;
                }
            }
            None => {
                if c.is_whitespace() {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    i += 1;
                    continue;
                }
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    word.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_var(&chars, i, scope, escape, &mut word)?;
                } else {
                    word.push(c);
                    i += 1;
                }
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Expand the variable starting at `chars[start] == '$'`; returns the index after it.
fn expand_var(
    chars: &[char],
    start: usize,
    scope: &HashMap<String, String>,
    escape: char,
    out: &mut String,
) -> Result<usize, String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = start + 1;
    if i < chars.len() && chars[i] == '{' {
        let close = chars[i..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| i + p)
            .ok_or_else(|| "missing `}` in variable reference".to_owned())?;
        let inner: String = chars[i + 1..close].iter().collect();
        let name_len = inner.chars().take_while(|&c| is_name(c)).count();
        let (name, modifier) = inner.split_at(name_len);
        if name.is_empty() {
            return Err(format!("bad variable reference `${{{inner}}}`"));
        }
        let value = scope.get(name).map(String::as_str).unwrap_or("");
        if modifier.is_empty() {
            out.push_str(value);
        } else if let Some(word) = modifier.strip_prefix(":-") {
            if value.is_empty() {
                out.push_str(&expand_word(word, scope, escape)?);
            } else {
                out.push_str(value);
            }
        } else if let Some(word) = modifier.strip_prefix(":+") {
            if !value.is_empty() {
                out.push_str(&expand_word(word, scope, escape)?);
            }
        } else {
            return Err(format!(
                "unsupported variable modifier in `${{{inner}}}` (only :- and :+)"
            ));
        }
        return Ok(close + 1);
    }
    let name: String = chars[i..].iter().take_while(|&&c| is_name(c)).collect();
    if name.is_empty() {
        out.push('$');
        return Ok(i);
    }
    i += name.chars().count();
    out.push_str(scope.get(&name).map(String::as_str).unwrap_or(""));
    Ok(i)
}

/// Expand the `word` of `${X:-word}`: variables expand, the result is one word.
fn expand_word(
    word: &str,
    scope: &HashMap<String, String>,
    escape: char,
) -> Result<String, String> {
    Ok(shell_words(word, scope, escape)?.join(" "))
}
