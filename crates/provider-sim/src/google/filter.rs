//! The `filter` of `list` and `reconcile`, in the AIP-160 subset Google documents (docs/google-health.md):
//!
//! ```text
//! filter     = clause { " AND " clause }
//! clause     = comparison { " OR " comparison }       (OR on sleep only)
//! comparison = field ( ">=" | "<" ) "\"" literal "\""
//! ```
//!
//! Fields are `{snake_type}.{time field}`, by the type's record kind; literals are RFC 3339 for physical times,
//! `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm:ss` for civil ones and `YYYY-MM-DD` for dates. Anything else (other operators,
//! unquoted literals, parentheses, lower-case `and`) is refused with 400 `INVALID_ARGUMENT` and a reason, as is an
//! empty closed-open window.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};

use super::data_types::{DataType, Kind};
use super::mapping::Point;
use super::status::{self, GoogleError};
use super::time::LocalTime;

/// What a filter compares: the times of a point, generated ([`Point`]) or kept ([`super::days::Kept`]).
pub(crate) trait Timed {
    /// Interval start, or sample time.
    fn start(&self) -> LocalTime;
    /// Interval end, or sample time.
    fn end(&self) -> LocalTime;
}

impl Timed for Point {
    fn start(&self) -> LocalTime {
        self.start
    }

    fn end(&self) -> LocalTime {
        self.end
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    CivilStart,
    Start,
    CivilEnd,
    End,
    CivilSample,
    PhysicalSample,
    Date,
}

impl Field {
    fn is_physical(self) -> bool {
        matches!(self, Field::Start | Field::End | Field::PhysicalSample)
    }

    /// The point's value of this field, as a wall clock (UTC for physical fields).
    fn of(self, point: &impl Timed) -> NaiveDateTime {
        match self {
            Field::CivilStart | Field::CivilSample => point.start().civil,
            Field::Start | Field::PhysicalSample => point.start().physical(),
            Field::CivilEnd => point.end().civil,
            Field::End => point.end().physical(),
            Field::Date => point.start().civil.date().and_time(Default::default()),
        }
    }
}

#[derive(Clone, Debug)]
struct Comparison {
    field: Field,
    /// `>=` when true, `<` when false.
    at_least: bool,
    value: NaiveDateTime,
}

impl Comparison {
    fn matches(&self, point: &impl Timed) -> bool {
        let value = self.field.of(point);
        if self.at_least {
            value >= self.value
        } else {
            value < self.value
        }
    }
}

/// A parsed filter: every clause must match, a clause when any of its comparisons does. No clause matches every
/// point.
#[derive(Debug, Default)]
pub(crate) struct Filter(Vec<Vec<Comparison>>);

impl Filter {
    pub(crate) fn parse(text: Option<&str>, data_type: &DataType) -> Result<Filter, GoogleError> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(Filter::default()) };
        let mut tokens = tokenize(text)?.into_iter();
        let prefix = data_type.filter_prefix();
        let mut clauses = vec![Vec::new()];
        loop {
            let comparison = comparison(&mut tokens, data_type, &prefix)?;
            clauses.last_mut().expect("a clause").push(comparison);
            match tokens.next() {
                None => break,
                Some(Token::Word(word)) if word == "AND" => clauses.push(Vec::new()),
                Some(Token::Word(word)) if word == "OR" && data_type.kind == Kind::Sleep => {}
                Some(Token::Word(word)) if word == "OR" => {
                    return Err(error("INVALID_DATA_POINT_FILTER_EXPRESSION_STRUCTURE", Some("OR")))
                }
                Some(other) => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(other.text()))),
            }
        }
        let filter = Filter(clauses);
        filter.check_range()?;
        Ok(filter)
    }

    pub(crate) fn matches(&self, point: &impl Timed) -> bool {
        self.0.iter().all(|clause| clause.iter().any(|c| c.matches(point)))
    }

    /// The comparisons every match must satisfy: the clauses of one comparison.
    fn required(&self) -> impl Iterator<Item = &Comparison> {
        self.0.iter().filter(|clause| clause.len() == 1).flatten()
    }

    /// An empty closed-open window on one field is refused, as live.
    fn check_range(&self) -> Result<(), GoogleError> {
        for low in self.required().filter(|c| c.at_least) {
            if self.required().any(|high| !high.at_least && high.field == low.field && high.value <= low.value) {
                return Err(status::invalid_argument(
                    "Invalid data point filter: INVALID_TIME_RANGE",
                    Some("INVALID_TIME_RANGE"),
                ));
            }
        }
        Ok(())
    }

    /// The days the matching records can be dated on (their civil day), a day of margin on each side for offsets.
    pub(crate) fn days(&self, first: NaiveDate, last: NaiveDate) -> (NaiveDate, NaiveDate) {
        let (mut from, mut to) = (first, last);
        for c in self.required() {
            let day = c.value.date();
            if c.at_least {
                from = from.max(day - Duration::days(1));
            } else {
                to = to.min(day + Duration::days(1));
            }
        }
        (from, to)
    }
}

#[derive(Debug)]
enum Token {
    /// A field name, an operator, `AND` or `OR`.
    Word(String),
    /// What was between double quotes.
    Literal(String),
}

impl Token {
    fn text(&self) -> &str {
        match self {
            Token::Word(text) | Token::Literal(text) => text,
        }
    }
}

fn error(reason: &'static str, near: Option<&str>) -> GoogleError {
    let message = match near {
        Some(near) => format!("Invalid data point filter: {reason} (at '{near}')"),
        None => format!("Invalid data point filter: {reason}"),
    };
    status::invalid_argument(message, Some(reason))
}

fn tokenize(text: &str) -> Result<Vec<Token>, GoogleError> {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end =
                quoted.find('"').ok_or_else(|| error("INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT", None))?;
            tokens.push(Token::Literal(quoted[..end].to_string()));
            rest = &quoted[end + 1..];
        } else {
            // An operator ends a name, as in `field>="…"`, which AIP-160 allows.
            let operator = |c: char| "<>=!:".contains(c);
            let end = match rest.starts_with(operator) {
                true => rest.find(|c: char| !operator(c)),
                false => rest.find(|c: char| c.is_whitespace() || c == '"' || operator(c)),
            };
            let end = end.unwrap_or(rest.len());
            tokens.push(Token::Word(rest[..end].to_string()));
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Ok(tokens)
}

/// `field op "literal"`.
fn comparison(
    tokens: &mut impl Iterator<Item = Token>,
    data_type: &DataType,
    prefix: &str,
) -> Result<Comparison, GoogleError> {
    let mut next = || tokens.next().ok_or_else(|| error("INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT", None));
    let field = match next()? {
        Token::Word(name) => field(&name, data_type, prefix)?,
        other => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(other.text()))),
    };
    let at_least = match next()? {
        Token::Word(op) if op == ">=" => true,
        Token::Word(op) if op == "<" => false,
        Token::Word(op) if op.starts_with(['<', '>', '=', '!', ':']) => {
            return Err(error("INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARABLE", Some(&op)))
        }
        other => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(other.text()))),
    };
    let literal = match next()? {
        Token::Literal(literal) => literal,
        other => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(other.text()))),
    };
    let value = literal_value(field, &literal).ok_or_else(|| error("INVALID_FILTER_FORMAT", Some(&literal)))?;
    Ok(Comparison { field, at_least, value })
}

/// The field a name refers to, if it is one of this type's filterable times.
fn field(name: &str, data_type: &DataType, prefix: &str) -> Result<Field, GoogleError> {
    let restriction = || error("INVALID_DATA_POINT_FILTER_DATA_TYPE_RESTRICTION", Some(name));
    let rest = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')).ok_or_else(restriction)?;
    let field = match (data_type.kind, rest) {
        (Kind::Session | Kind::Interval, "interval.civil_start_time") => Field::CivilStart,
        (Kind::Session | Kind::Interval, "interval.start_time") => Field::Start,
        (Kind::Sleep, "interval.civil_end_time") => Field::CivilEnd,
        (Kind::Sleep, "interval.end_time") => Field::End,
        (Kind::Sample, "sample_time.civil_time") => Field::CivilSample,
        (Kind::Sample, "sample_time.physical_time") => Field::PhysicalSample,
        (Kind::Daily, "date") => Field::Date,
        _ => return Err(restriction()),
    };
    Ok(field)
}

/// The literal as a wall clock: UTC for physical fields, civil for the others.
fn literal_value(field: Field, literal: &str) -> Option<NaiveDateTime> {
    if field.is_physical() {
        return DateTime::parse_from_rfc3339(literal).ok().map(|t| t.naive_utc());
    }
    let midnight = NaiveDate::parse_from_str(literal, "%Y-%m-%d")
        .ok()
        .filter(|_| literal.len() == 10)
        .map(|day| day.and_time(Default::default()));
    if field == Field::Date {
        return midnight;
    }
    let civil = || NaiveDateTime::parse_from_str(literal, "%Y-%m-%dT%H:%M:%S").ok().filter(|_| literal.len() == 19);
    midnight.or_else(civil)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::data_types::find;
    use crate::google::time::LocalTime;
    use serde_json::Value;

    fn at(text: &str) -> LocalTime {
        LocalTime::parse_fitbit(text).unwrap()
    }

    fn point(start: &str, end: &str) -> Point {
        Point { value: Value::Null, start: at(start), end: at(end) }
    }

    fn parse(text: &str, data_type: &str) -> Result<Filter, GoogleError> {
        Filter::parse(Some(text), find(data_type).unwrap())
    }

    #[test]
    fn civil_and_physical_bounds() {
        let run = point("2026-11-01T21:30:00.000-03:00", "2026-11-01T22:00:00.000-03:00");
        let field = "exercise.interval.civil_start_time";
        let civil = parse(&format!(r#"{field} >= "2026-11-01" AND {field} < "2026-11-02""#), "exercise").unwrap();
        assert!(civil.matches(&run));
        let physical = parse(r#"exercise.interval.start_time >= "2026-11-02T00:00:00Z""#, "exercise").unwrap();
        assert!(physical.matches(&run), "21:30 at -03:00 is 00:30Z the next day");
        let with_time = parse(&format!(r#"{field} >= "2026-11-01T21:30:00" AND {field} < "2026-11-03""#), "exercise");
        assert!(with_time.unwrap().matches(&run));
        assert!(parse(&format!(r#"{field}>="2026-11-01""#), "exercise").unwrap().matches(&run), "AIP-160 spacing");
        let days = civil.days(NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!((days.0.to_string(), days.1.to_string()), ("2026-10-31".to_string(), "2026-11-03".to_string()));
    }

    #[test]
    fn sleep_is_filtered_on_its_end_and_may_use_or() {
        let night = point("2026-11-01T20:30:00.000", "2026-11-02T06:30:00.000");
        let filter = parse(
            r#"sleep.interval.civil_end_time >= "2026-11-02" OR sleep.interval.end_time < "2000-01-01T00:00:00Z""#,
            "sleep",
        )
        .unwrap();
        assert!(filter.matches(&night));
        assert_eq!(parse(r#"sleep.interval.civil_start_time >= "2026-11-02""#, "sleep").unwrap_err().code(), 400);
        let or_elsewhere =
            r#"weight.sample_time.civil_time >= "2026-11-02" OR weight.sample_time.civil_time < "2026-01-01""#;
        assert!(parse(or_elsewhere, "weight").is_err());
    }

    #[test]
    fn malformed_filters_and_empty_ranges_are_refused() {
        for bad in [
            r#"weight.sample_time.civil_time > "2026-11-02""#,
            r#"weight.sample_time.civil_time >= "2026-11-02"#,
            r#"weight.sample_time.civil_time >= "02/11/2026""#,
            r#"body_fat.sample_time.civil_time >= "2026-11-02""#,
            r#"weight.sample_time.physical_time >= "2026-11-02""#,
            r#"weight.sample_time.civil_time >= "2026-11-02" AND"#,
            r#"weight.sample_time.civil_time >= "2026-11-02" AND weight.sample_time.civil_time < "2026-11-02""#,
            // What an earlier, kinder parser let through: none of it is Google's grammar.
            r#"weight.sample_time.civil_time >= 2026-11-02"#,
            r#"( weight.sample_time.civil_time >= "2026-11-02" )"#,
            r#"weight.sample_time.civil_time >= "2026-11-02" and weight.sample_time.civil_time < "2026-11-03""#,
            r#"weight.sample_time.civil_time >= "2026-11-02T10:00""#,
            r#"weight.sample_time.civil_time >= "2026-11-02T10:00:00.5""#,
        ] {
            assert!(parse(bad, "weight").is_err(), "{bad}");
        }
        assert!(Filter::parse(None, find("weight").unwrap())
            .unwrap()
            .matches(&point("2026-01-01T00:00:00", "2026-01-01T00:00:00")));
    }
}
