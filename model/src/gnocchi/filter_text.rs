//! The string form of the filter language (`?filter=`, a string `search`):
//! Gnocchi's `QueryStringSearchAttrFilter` grammar, tokenized and parsed
//! into the JSON form, which [`from_json`] then validates — so both
//! spellings give the same [`Filter`] and the same errors.

use serde_json::{Map, Value, json};

use super::{Filter, FilterError, Step, from_json, invalid, py_str};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// A binary operator (any spelling, kept as written).
    Op(String),
    And,
    Or,
    Not,
    /// A value: null, bool, number, UUID/bare word or quoted string.
    Lit(Value),
    /// A bare word (identifier or UUID), usable as attribute or value.
    Word(String),
}

struct Lexed {
    tok: Tok,
    /// Character offset.
    at: usize,
    text: String,
}

fn syntax(expected: &str, found: Option<(usize, &str)>, end: usize) -> FilterError {
    match found {
        Some((at, text)) => FilterError::Syntax(format!(
            "Expected {expected}, found '{text}'  (at char {at}), (line:1, col:{})",
            at + 1
        )),
        None => FilterError::Syntax(format!(
            "Expected {expected}, found end of text  (at char {end}), (line:1, col:{})",
            end + 1
        )),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Length in chars of a Gnocchi UUID literal at the start of `s` (8-4-4-4-12
/// hex digits, dashes optional, each group exactly that long).
fn uuid_len(s: &[char]) -> Option<usize> {
    let mut i = 0;
    for (n, group) in [8usize, 4, 4, 4, 12].iter().enumerate() {
        if n > 0 && s.get(i) == Some(&'-') {
            i += 1;
        }
        for _ in 0..*group {
            if !s.get(i).is_some_and(char::is_ascii_hexdigit) {
                return None;
            }
            i += 1;
        }
    }
    // A following word character would make it something else.
    if s.get(i)
        .is_some_and(|c| is_word_char(*c) && *c != '-' && *c != '.')
    {
        return None;
    }
    Some(i)
}

/// Length of Gnocchi's number literal `[+-]?\d+(\.\d*)?([eE][+-]?\d+)?`.
fn number_len(s: &[char]) -> Option<(usize, bool)> {
    let mut i = 0;
    if matches!(s.first(), Some('+' | '-')) {
        i += 1;
    }
    let start = i;
    while s.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if i == start {
        return None;
    }
    let mut float = false;
    if s.get(i) == Some(&'.') {
        float = true;
        i += 1;
        while s.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(s.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some('+' | '-')) {
            j += 1;
        }
        let ds = j;
        while s.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
        if j > ds {
            float = true;
            i = j;
        }
    }
    Some((i, float))
}

fn lex(s: &str) -> Result<Vec<Lexed>, FilterError> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let at = i;
        let single = |t: Tok| (t, 1usize);
        let (tok, len) = match c {
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            '[' => single(Tok::LBracket),
            ']' => single(Tok::RBracket),
            ',' => single(Tok::Comma),
            '≠' | '≥' | '≤' => single(Tok::Op(c.to_string())),
            '∧' => single(Tok::And),
            '∨' => single(Tok::Or),
            '>' | '<' | '!' | '=' => {
                let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                if two == "==" {
                    // Gnocchi's operator regex matches `=` first, then fails
                    // on the second `=` (gabbit search.yaml "search invalid
                    // query string" expects this to be refused).
                    return Err(syntax("term", Some((i + 1, "=")), cs.len()));
                }
                if matches!(two.as_str(), ">=" | "<=" | "!=") {
                    (Tok::Op(two), 2)
                } else if c == '!' {
                    return Err(syntax("operator", Some((at, "!")), cs.len()));
                } else {
                    single(Tok::Op(c.to_string()))
                }
            }
            '"' | '\'' => {
                let mut j = i + 1;
                while j < cs.len() && cs[j] != c && cs[j] != '\n' {
                    j += 1;
                }
                if j >= cs.len() || cs[j] != c {
                    let rest: String = cs[i..].iter().collect();
                    return Err(syntax("term", Some((at, &rest)), cs.len()));
                }
                let body: String = cs[i + 1..j].iter().collect();
                (Tok::Lit(Value::String(body)), j + 1 - i)
            }
            _ => {
                if let Some(n) = uuid_len(&cs[i..]) {
                    (Tok::Word(cs[i..i + n].iter().collect()), n)
                } else if c.is_ascii_alphabetic() || c == '_' {
                    let mut j = i;
                    while j < cs.len() && is_word_char(cs[j]) {
                        j += 1;
                    }
                    let w: String = cs[i..j].iter().collect();
                    let tok = match w.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "not" => Tok::Not,
                        "in" | "like" | "eq" | "ne" | "lt" | "gt" | "le" | "ge" => {
                            Tok::Op(w.clone())
                        }
                        "None" | "none" | "null" => Tok::Lit(Value::Null),
                        "True" | "true" => Tok::Lit(Value::Bool(true)),
                        "False" | "false" => Tok::Lit(Value::Bool(false)),
                        _ => Tok::Word(w.clone()),
                    };
                    (tok, j - i)
                } else if let Some((n, float)) = number_len(&cs[i..]) {
                    if cs
                        .get(i + n)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        let rest: String = cs[i + n..]
                            .iter()
                            .take_while(|c| is_word_char(**c))
                            .collect();
                        return Err(syntax("end of text", Some((i + n, &rest)), cs.len()));
                    }
                    let text: String = cs[i..i + n].iter().collect();
                    let v = if float {
                        json_f64(text.parse::<f64>().unwrap_or(f64::NAN))
                    } else {
                        match text.trim_start_matches('+').parse::<i64>() {
                            Ok(n) => Value::from(n),
                            Err(_) => json_f64(text.parse::<f64>().unwrap_or(f64::NAN)),
                        }
                    };
                    (Tok::Lit(v), n)
                } else {
                    return Err(syntax("term", Some((at, &c.to_string())), cs.len()));
                }
            }
        };
        out.push(Lexed {
            tok,
            at,
            text: cs[at..at + len].iter().collect(),
        });
        i += len;
    }
    Ok(out)
}

fn json_f64(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

struct Parser {
    toks: Vec<Lexed>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|l| &l.tok)
    }

    fn err(&self, expected: &str) -> FilterError {
        syntax(
            expected,
            self.toks.get(self.pos).map(|l| (l.at, l.text.as_str())),
            self.end,
        )
    }

    fn or_expr(&mut self) -> Result<Value, FilterError> {
        let mut items = vec![self.and_expr()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            json!({"or": items})
        })
    }

    fn and_expr(&mut self) -> Result<Value, FilterError> {
        let mut items = vec![self.not_expr()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            json!({"and": items})
        })
    }

    fn not_expr(&mut self) -> Result<Value, FilterError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            let inner = self.not_expr()?;
            return Ok(json!({ "not": inner }));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or_expr()?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.err("')'"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Value, FilterError> {
        let lhs = self.term()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) => o.clone(),
            _ => return Err(self.err("operator")),
        };
        self.pos += 1;
        let rhs = self.term()?;
        let key = match lhs {
            Value::String(s) => s,
            other => {
                return Err(invalid(
                    "expected str",
                    &[Step::Key(op.clone()), Step::Key(py_str(&other))],
                    false,
                ));
            }
        };
        let mut inner = Map::new();
        inner.insert(key, rhs);
        let mut outer = Map::new();
        outer.insert(op, Value::Object(inner));
        Ok(Value::Object(outer))
    }

    fn term(&mut self) -> Result<Value, FilterError> {
        match self.peek() {
            Some(Tok::Lit(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(v)
            }
            Some(Tok::Word(w)) => {
                let v = Value::String(w.clone());
                self.pos += 1;
                Ok(v)
            }
            Some(Tok::LBracket) => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.peek() == Some(&Tok::RBracket) {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.term()?);
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBracket) => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.err("']'")),
                    }
                }
            }
            _ => Err(self.err("term")),
        }
    }
}

/// Parses the string form (`host = "example1" or owner like "admin-%"`).
///
/// Grammar (Gnocchi's `QueryStringSearchAttrFilter`): conditions
/// `term op term` with `op` one of `= != ≠ < > <= ≤ >= ≥ eq ne lt gt le ge
/// in like`; terms are `null|None|none`, `true|True|false|False`, numbers,
/// UUIDs, bare words, `'…'`/`"…"` strings (no escapes) and `[term, …]`
/// lists; `not` binds tighter than `and`/`∧`, which bind tighter than
/// `or`/`∨`; parentheses group. `==` is refused as Gnocchi refuses it.
/// Keywords need word boundaries (Gnocchi reads `notes` as `not es`) and
/// bare words may contain `-` and `.` (Gnocchi refuses them): both only
/// accept more. The result is validated like [`from_json`].
pub fn parse(s: &str) -> Result<Filter, FilterError> {
    let toks = lex(s)?;
    let end = s.chars().count();
    let mut p = Parser { toks, pos: 0, end };
    let v = p.or_expr()?;
    if p.pos < p.toks.len() {
        return Err(p.err("end of text"));
    }
    from_json(&v)
}
