//! Fitbit weight log → OCARIoT `Weight` measurement (docs/decisions.md#published-payloads), the payload of
//! `WeightSyncEvent`.

use serde_json::Value;

use crate::domain::ocariot::{normalize_date, JsNumber, MalformedItem, Weight};
use crate::provider::json::{get, number, string};

/// One Fitbit weight log `{logId, date, time, weight, fat?, bmi, source}` as an OCARIoT weight.
pub fn weight(raw: &Value, child_id: &str) -> Result<Weight, MalformedItem> {
    if !raw.is_object() {
        return Err(MalformedItem("weight is not an object".into()));
    }
    let date = string(get(raw, "date"), "date")?;
    let time = string(get(raw, "time"), "time")?;
    let timestamp = normalize_date(&format!("{date}T{time}"))
        .ok_or_else(|| MalformedItem(format!("invalid date {date} {time}")))?;

    let value = JsNumber(number(get(raw, "weight"), "weight")?);
    let body_fat = get(raw, "fat").map(|fat| number(Some(fat), "fat").map(JsNumber)).transpose()?;
    Ok(Weight::new(timestamp, value, child_id, body_fat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The object as the consumers read it: its JSON, in the contract's key order.
    fn weight(raw: &Value, child_id: &str) -> Result<Value, MalformedItem> {
        super::weight(raw, child_id).map(|object| serde_json::to_value(object).unwrap())
    }

    const CHILD: &str = "5a62be07de34500146d9c544";

    fn fixture() -> Value {
        json!({"bmi": 17.9, "date": "2020-09-01", "fat": 18.2, "logId": 1599030131000u64, "source": "Aria",
               "time": "07:02:11", "weight": 41.3})
    }

    #[test]
    fn appendix_a3_with_fat_is_byte_identical() {
        assert_eq!(
            serde_json::to_string(&weight(&fixture(), CHILD).unwrap()).unwrap(),
            r#"{"type":"weight","timestamp":"2020-09-01T07:02:11Z","value":41.3,"unit":"kg","child_id":"5a62be07de34500146d9c544","body_fat":18.2}"#
        );
    }

    #[test]
    fn without_fat_body_fat_is_omitted() {
        let mut raw = fixture();
        raw.as_object_mut().unwrap().remove("fat");
        raw["weight"] = json!(40);
        assert_eq!(
            serde_json::to_string(&weight(&raw, CHILD).unwrap()).unwrap(),
            r#"{"type":"weight","timestamp":"2020-09-01T07:02:11Z","value":40,"unit":"kg","child_id":"5a62be07de34500146d9c544"}"#
        );
    }

    #[test]
    fn end_of_day_time_is_kept_as_is() {
        let mut raw = fixture();
        raw["date"] = json!("2020-02-11");
        raw["time"] = json!("23:59:59");
        assert_eq!(weight(&raw, CHILD).unwrap()["timestamp"], json!("2020-02-11T23:59:59Z"));
    }

    #[test]
    fn bad_fields_are_malformed() {
        let mut raw = fixture();
        raw.as_object_mut().unwrap().remove("weight");
        assert_eq!(weight(&raw, CHILD), Err(MalformedItem("missing field weight".into())));
        let mut raw = fixture();
        raw["time"] = json!("7:02");
        assert!(weight(&raw, CHILD).is_err());
        let mut raw = fixture();
        raw["fat"] = json!("18.2");
        assert_eq!(weight(&raw, CHILD), Err(MalformedItem("field fat is not a number".into())));
    }
}
