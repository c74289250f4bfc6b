//! Reading provider JSON as the original did, shared by both providers' transforms: `null` as absent, JavaScript
//! truthiness and `parseInt`, numbers passed through as Node printed them.

use std::fmt::Display;

use serde_json::Value;

use crate::domain::ocariot::{js_number, MalformedItem};

/// A field, with `null` treated like a missing one: the original read both as "absent".
pub fn get<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    parent.get(key).filter(|v| !v.is_null())
}

/// JavaScript truthiness, because the original decides optional parts (`distance`, `heart_rate`, the classic sleep
/// summary) with `if (x)`.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

pub fn missing(name: impl Display) -> MalformedItem {
    MalformedItem::missing(name)
}

/// A provider number passed through unchanged, except that an integral float prints as Node would print it.
pub fn number(v: Option<&Value>, name: impl Display) -> Result<Value, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::Number(n)) if n.is_f64() => Ok(js_number(n.as_f64().unwrap_or(f64::NAN))),
        Some(n @ Value::Number(_)) => Ok(n.clone()),
        Some(_) => Err(MalformedItem(format!("field {name} is not a number"))),
    }
}

pub fn string(v: Option<&Value>, name: impl Display) -> Result<&str, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(MalformedItem(format!("field {name} is not a string"))),
    }
}

/// Provider minutes as OCARIoT milliseconds; fractional minutes are legal (0.5 → 30000).
pub fn minutes_to_ms(v: Option<&Value>, name: impl Display) -> Result<Value, MalformedItem> {
    match v {
        None => Err(missing(name)),
        Some(Value::Number(n)) => Ok(js_number(n.as_f64().unwrap_or(f64::NAN) * 60_000.0)),
        Some(_) => Err(MalformedItem(format!("field {name} is not a number"))),
    }
}

/// `parseInt(v, 10)`: the provider sends counts as strings (`"37"`) or numbers, and the original accepted any leading
/// integer (`"12abc"` → 12). `None` where JavaScript would get `NaN`, or the result does not fit in an i64.
pub fn js_parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i),
            // Fitbit never sends the exponent forms (1e21, 1e-7) for which parseInt would read the mantissa only.
            None => n.as_f64().filter(|x| x.is_finite() && x.abs() < 9.2e18).map(|x| x.trunc() as i64),
        },
        Value::String(s) => {
            let s = s.trim_start_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
            let (negative, digits) = match s.as_bytes().first() {
                Some(b'-') => (true, &s[1..]),
                Some(b'+') => (false, &s[1..]),
                _ => (false, s),
            };
            let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
            if end == 0 {
                return None;
            }
            let magnitude: i64 = digits[..end].parse().ok()?;
            Some(if negative { -magnitude } else { magnitude })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn js_parse_int_reads_a_leading_integer() {
        assert_eq!(js_parse_int(&json!("37")), Some(37));
        assert_eq!(js_parse_int(&json!("  -12abc")), Some(-12));
        assert_eq!(js_parse_int(&json!("+5")), Some(5));
        assert_eq!(js_parse_int(&json!(30)), Some(30));
        assert_eq!(js_parse_int(&json!(30.9)), Some(30));
        assert_eq!(js_parse_int(&json!("0x1f")), Some(0));
        assert_eq!(js_parse_int(&json!("abc")), None);
        assert_eq!(js_parse_int(&json!("-")), None);
        assert_eq!(js_parse_int(&json!("")), None);
        assert_eq!(js_parse_int(&json!(null)), None);
        assert_eq!(js_parse_int(&json!("99999999999999999999")), None);
    }

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(None));
        assert!(!truthy(Some(&json!(null))));
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(Some(&json!(0.0))));
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(false))));
        assert!(truthy(Some(&json!(1.5))));
        assert!(truthy(Some(&json!("0"))));
        assert!(truthy(Some(&json!({}))));
        assert!(truthy(Some(&json!([]))));
    }

    #[test]
    fn passed_through_numbers_keep_their_value() {
        assert_eq!(number(Some(&json!(154)), "calories").unwrap(), json!(154));
        assert_eq!(serde_json::to_string(&number(Some(&json!(154.0)), "calories").unwrap()).unwrap(), "154");
        assert_eq!(number(Some(&json!(41.3)), "weight").unwrap(), json!(41.3));
        assert_eq!(number(None, "calories"), Err(MalformedItem("missing field calories".into())));
        assert_eq!(
            number(Some(&json!("154")), "calories"),
            Err(MalformedItem("field calories is not a number".into()))
        );
    }
}
