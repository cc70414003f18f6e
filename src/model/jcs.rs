//! JSON Canonicalization Scheme (RFC 8785): object members sorted by their UTF-16 code units, no insignificant
//! whitespace, strings escaped minimally, and numbers written as ECMAScript writes an IEEE-754 double. A third
//! party recomputes a transaction hash with any RFC 8785 implementation.

use serde_json::Value;

/// The canonical form of `value`; `None` when a number is not a finite double.
pub fn canonicalize(value: &Value) -> Option<String> {
    let mut out = String::new();
    write(value, &mut out)?;
    Some(out)
}

fn write(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n.as_f64()?)?),
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                write(v, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript `Number.prototype.toString()` of a finite double.
fn number(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    if f == 0.0 {
        return Some("0".into());
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // Rust's `{:e}` yields the shortest digits that round-trip, as ECMAScript requires.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i64::try_from(digits.len()).ok()?;
    let n = exp.parse::<i64>().ok()? + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat(usize::try_from(n - k).ok()?))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).ok()?);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).ok()?))
    } else {
        let e = n - 1;
        let exp = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        match digits.split_at(1) {
            (d, "") => format!("{d}e{exp}"),
            (d, rest) => format!("{d}.{rest}e{exp}"),
        }
    };
    Some(format!("{sign}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_sorted_and_compact() {
        let v = json!({"b": [1, "x", null, true], "a": {"d": false, "c": 1.5}});
        assert_eq!(
            canonicalize(&v).as_deref(),
            Some(r#"{"a":{"c":1.5,"d":false},"b":[1,"x",null,true]}"#)
        );
    }

    #[test]
    fn numbers_follow_ecmascript() {
        for (input, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123.456, "123.456"),
            (4.5e-10, "4.5e-10"),
            (9007199254740993.0, "9007199254740992"),
            (333_333_333.333_333_3, "333333333.3333333"),
        ] {
            assert_eq!(number(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn strings_escape_only_what_json_needs() {
        let v = json!({"s": "a\"b\\c\n\u{1}é€😀</"});
        assert_eq!(
            canonicalize(&v).as_deref(),
            Some("{\"s\":\"a\\\"b\\\\c\\n\\u0001é€😀</\"}")
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 sorts after U+E000 in UTF-8 byte order but before it in UTF-16 (surrogates are D83D DE00).
        let v = json!({"\u{1F600}": 1, "\u{E000}": 2});
        assert_eq!(
            canonicalize(&v).as_deref(),
            Some("{\"\u{1F600}\":1,\"\u{E000}\":2}")
        );
    }
}
