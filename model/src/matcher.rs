//! Prometheus label matchers: `=`, `!=`, `=~`, `!~`.
//!
//! Regular expressions are fully anchored (`^(?:re)$`), as in Prometheus, and a
//! missing label matches as the empty string: `{a=""}` selects series without
//! `a`, `{a!=""}` those with it.

use std::fmt;

use regex::Regex;

/// The four matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

/// A matcher whose regex could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?} in matcher on {name:?}: {reason}")]
pub struct MatcherError {
    /// Label name.
    pub name: String,
    /// The pattern as given.
    pub pattern: String,
    /// What the regex engine said.
    pub reason: String,
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The operator.
    pub op: MatchOp,
    /// The value or pattern, as given.
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// Builds a matcher, compiling (anchored) regexes.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$")).map_err(|e| MatcherError {
                    name: name.clone(),
                    pattern: value.clone(),
                    reason: e.to_string(),
                })?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name,
            op,
            value,
            re,
        })
    }

    /// `name = value`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// Whether a label value (`""` when the label is absent) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether this matcher accepts the empty string, i.e. also selects
    /// series that do not have the label at all.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "api").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("api-server"));
        assert!(!m.matches("my-api"));
        let m = Matcher::new(MatchOp::Regex, "job", "a|b.*").unwrap();
        assert!(m.matches("a"));
        assert!(m.matches("bcd"));
        assert!(!m.matches("ab"));
        let m = Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap();
        assert!(!m.matches("abc"));
        assert!(m.matches("ba"));
        assert!(m.matches(""));
    }

    #[test]
    fn regex_dot_matches_newline_like_prometheus() {
        let m = Matcher::new(MatchOp::Regex, "x", "a.b").unwrap();
        assert!(m.matches("a\nb"));
    }

    #[test]
    fn empty_semantics() {
        assert!(Matcher::equal("a", "").matches_empty());
        assert!(
            !Matcher::new(MatchOp::NotEqual, "a", "")
                .unwrap()
                .matches_empty()
        );
        assert!(
            Matcher::new(MatchOp::Regex, "a", ".*")
                .unwrap()
                .matches_empty()
        );
        assert!(
            !Matcher::new(MatchOp::Regex, "a", ".+")
                .unwrap()
                .matches_empty()
        );
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchOp::Regex, "a", "(").unwrap_err();
        assert_eq!(e.name, "a");
    }
}
