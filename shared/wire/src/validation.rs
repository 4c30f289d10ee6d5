//! Problems found in an outgoing request: every one at once, each naming the
//! field path (`data.trtcParam.roomId`) and the rule it breaks.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// JSON path of the field, dot-separated, with `[i]` for list items.
    pub field: String,
    /// The rule, in words a backend developer can act on.
    pub rule: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// Every problem found; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Whether `field` is named by any problem (handy in tests and handlers).
    pub fn names(&self, field: &str) -> bool {
        self.0.iter().any(|problem| problem.field == field)
    }

    /// The problem for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&Problem> {
        self.0.iter().find(|problem| problem.field == field)
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Collects problems while walking a message.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub(crate) fn fail(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            rule: rule.into(),
        });
    }

    pub(crate) fn finish(self) -> Result<(), Problems> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Problems(self.problems))
        }
    }

    /// A required string: present and not blank.
    pub(crate) fn required(&mut self, field: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.fail(field, "is required and must not be empty");
            false
        } else {
            true
        }
    }

    /// A required value of any other type.
    pub(crate) fn present<T>(&mut self, field: &str, value: &Option<T>) -> bool {
        if value.is_none() {
            self.fail(field, "is required");
        }
        value.is_some()
    }

    /// Length limit in characters (the reference's "Max Length").
    pub(crate) fn max_chars(&mut self, field: &str, value: &str, max: usize) {
        let count = value.chars().count();
        if count > max {
            self.fail(field, format!("must be at most {max} characters (is {count})"));
        }
    }

    pub(crate) fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(value) = value
            && !(min..=max).contains(&value)
        {
            self.fail(field, format!("must be between {min} and {max} (is {value})"));
        }
    }

    /// A 0/1 switch.
    pub(crate) fn flag(&mut self, field: &str, value: Option<i64>) {
        if let Some(value) = value
            && value != 0
            && value != 1
        {
            self.fail(field, format!("must be 0 or 1 (is {value})"));
        }
    }

    /// Letters, digits, underscore and hyphen only.
    pub(crate) fn word_chars(&mut self, field: &str, value: &str) {
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.fail(
                field,
                "may contain only letters a-z A-Z, digits 0-9, underscore and hyphen",
            );
        }
    }

    /// A URL with one of the given schemes.
    pub(crate) fn url(&mut self, field: &str, value: &str, schemes: &[&str]) {
        match url::Url::parse(value) {
            Ok(parsed) if schemes.contains(&parsed.scheme()) && parsed.has_host() => {}
            Ok(parsed) if !schemes.contains(&parsed.scheme()) => self.fail(
                field,
                format!(
                    "must use one of the schemes {} (is {})",
                    schemes.join(", "),
                    parsed.scheme()
                ),
            ),
            Ok(_) => self.fail(field, "must name a host"),
            Err(error) => self.fail(field, format!("must be an absolute URL ({error})")),
        }
    }

    /// A documented vocabulary value.
    pub(crate) fn known(&mut self, field: &str, is_known: bool, value: &str, what: &str, known: &str) {
        if !is_known {
            self.fail(
                field,
                format!("{value:?} is not a documented {what}; use one of {known}"),
            );
        }
    }
}

/// Deserialises `json`; a serde error becomes one [`Problem`] naming the field path.
pub fn parse_with_path<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Problems> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        json_problem(if path == "." { "(body)".to_owned() } else { path }, error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| json_problem("(body)".to_owned(), error))?;
    Ok(value)
}

fn json_problem(field: String, error: serde_json::Error) -> Problems {
    let rule = if error.is_syntax() || error.is_eof() {
        format!("is not valid JSON ({error})")
    } else {
        format!("has the wrong type or value ({error})")
    };
    Problems(vec![Problem { field, rule }])
}
