//! How Health API answers print default values (docs/google-health.md#proto3-json). The real API writes proto3 JSON,
//! which leaves a field at its default out: a zero sum, a `false` flag, an `*_UNSPECIFIED` enum. A client that expects
//! `"0"` where Google sends nothing breaks on the first still day, so that is the simulator's default;
//! [`Encoding::Verbose`] prints every field, zeros included, as the simulator did before it learnt proto3.

use serde_json::{json, Map, Value};

use super::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Default values left out, as Google sends them.
    Proto3,
    /// Every field printed, zeros and `false` included.
    Verbose,
}

impl Encoding {
    pub(crate) fn of(verbose: bool) -> Encoding {
        if verbose {
            Encoding::Verbose
        } else {
            Encoding::Proto3
        }
    }

    /// Inserts `value` under `key` unless it is the field's default and defaults are left out.
    fn put(self, object: &mut Map<String, Value>, key: &str, value: Value, is_default: bool) {
        if self == Encoding::Verbose || !is_default {
            object.insert(key.into(), value);
        }
    }

    /// An int64, as a JSON string.
    pub(crate) fn int64(self, object: &mut Map<String, Value>, key: &str, value: i64) {
        self.put(object, key, json!(value.to_string()), value == 0);
    }

    pub(crate) fn double(self, object: &mut Map<String, Value>, key: &str, value: f64) {
        self.put(object, key, json!(value), value == 0.0);
    }

    pub(crate) fn boolean(self, object: &mut Map<String, Value>, key: &str, value: bool) {
        self.put(object, key, json!(value), !value);
    }

    /// A duration of whole seconds, `"900s"`.
    pub(crate) fn duration(self, object: &mut Map<String, Value>, key: &str, seconds: i64) {
        self.put(object, key, json!(time::duration(seconds)), seconds == 0);
    }

    /// An enum value by name; the `*_UNSPECIFIED` zero value is the default.
    pub(crate) fn enumeration(self, object: &mut Map<String, Value>, key: &str, name: &str) {
        self.put(object, key, json!(name), name.ends_with("_UNSPECIFIED"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(encoding: Encoding) -> Value {
        let mut object = Map::new();
        encoding.int64(&mut object, "zero", 0);
        encoding.int64(&mut object, "steps", 42);
        encoding.double(&mut object, "kcal", 0.0);
        encoding.boolean(&mut object, "nap", false);
        encoding.boolean(&mut object, "processed", true);
        encoding.duration(&mut object, "sum", 0);
        encoding.enumeration(&mut object, "status", "STAGES_STATE_UNSPECIFIED");
        Value::Object(object)
    }

    #[test]
    fn proto3_leaves_defaults_out_and_verbose_prints_them() {
        assert_eq!(print(Encoding::Proto3), json!({"steps": "42", "processed": true}));
        assert_eq!(
            print(Encoding::Verbose),
            json!({"zero": "0", "steps": "42", "kcal": 0.0, "nap": false, "processed": true, "sum": "0s",
                   "status": "STAGES_STATE_UNSPECIFIED"})
        );
    }
}
