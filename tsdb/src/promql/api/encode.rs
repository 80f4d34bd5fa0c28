//! Byte-for-byte Prometheus encodings: the JSON of its HTTP API (Go's
//! `encoding/json` string escaping, `jsoniter` timestamps) and the text
//! exposition format 0.0.4 of `/federate`.

use std::fmt::Write as _;

use altimeter_model::{Labels, METRIC_NAME};

use crate::promql::{QueryValue, format_value};

/// Appends `s` as a JSON string the way Go's `encoding/json` does:
/// `<`, `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX` too.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A timestamp in ms as Prometheus writes sample times: seconds with up to
/// three decimals, trailing fraction zeros kept (`1.500`), none for whole
/// seconds (`jsoniter` `marshalTimestamp`).
pub fn sample_time(out: &mut String, t: i64) {
    let abs = t.unsigned_abs();
    if t < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", abs / 1000);
    let frac = abs % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A timestamp in ms as Go's `encoding/json` writes `float64(t)/1000`
/// (scalar and string results): the shortest decimal.
pub fn float_time(out: &mut String, t: i64) {
    let _ = write!(out, "{}", t as f64 / 1000.0);
}

/// `{"name":"value",...}` in label order (which is Go's sorted map order).
pub fn labels_json(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, &l.name);
        out.push(':');
        json_str(out, &l.value);
    }
    out.push('}');
}

fn point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    sample_time(out, t);
    out.push(',');
    json_str(out, &format_value(v));
    out.push(']');
}

/// `{"resultType":...,"result":...}` of a query answer.
pub fn query_data(out: &mut String, value: &QueryValue) {
    out.push_str("{\"resultType\":");
    json_str(out, value.type_name());
    out.push_str(",\"result\":");
    match value {
        QueryValue::Scalar { t, v } => {
            out.push('[');
            float_time(out, *t);
            out.push(',');
            json_str(out, &format_value(*v));
            out.push(']');
        }
        QueryValue::String { t, s } => {
            out.push('[');
            float_time(out, *t);
            out.push(',');
            json_str(out, s);
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                labels_json(out, &s.labels);
                out.push_str(",\"value\":");
                point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                labels_json(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    point(out, p.t, p.v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// `["a","b",...]`.
pub fn string_list(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, s);
    }
    out.push(']');
}

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which the text
/// exposition format uses: the shortest round-trip digits, in exponent
/// form (`1e+06`, `1.5e-05`) when the decimal exponent is below -4 or at
/// least 6 (Go fixes the `%g` precision at 6 for shortest formatting).
pub fn go_float_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` is the shortest round-trip digits: `d.ddde±x`.
    let e = format!("{:e}", v.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let nd = digits.len() as i32;
    let dp = exp + 1; // position of the decimal point relative to the digits
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if dp <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dp) as usize));
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (dp - nd) as usize));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The text exposition format (0.0.4) of `/federate`: one `# TYPE name
/// untyped` line per metric name, then its series with value and
/// timestamp. `samples` must be grouped by metric name; series without a
/// name are skipped (Prometheus does the same).
pub fn federate_text(samples: &[(Labels, i64, f64)]) -> String {
    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (labels, t, v) in samples {
        let Some(name) = labels.get(METRIC_NAME).filter(|n| !n.is_empty()) else {
            continue;
        };
        if last_name != Some(name) {
            let _ = writeln!(out, "# TYPE {name} untyped");
            last_name = Some(name);
        }
        out.push_str(name);
        let mut first = true;
        for l in labels.iter().filter(|l| l.name != METRIC_NAME) {
            out.push(if first { '{' } else { ',' });
            first = false;
            out.push_str(&l.name);
            out.push_str("=\"");
            escape_label_value(&mut out, &l.value);
            out.push('"');
        }
        if !first {
            out.push('}');
        }
        let _ = writeln!(out, " {} {t}", go_float_g(*v));
    }
    out
}
