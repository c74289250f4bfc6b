//! The `filter` of `list` and `reconcile`: the AIP-160 subset Google documents. Comparisons `field >= "literal"` and
//! `field < "literal"` joined with `AND`, and with `OR` on sleep (OR binds tighter, as in AIP-160; parentheses group).
//! Fields are `{snake_type}.{time field}` and depend on the type's record kind; literals are RFC 3339 for physical
//! times and `YYYY-MM-DD[THH:mm[:ss]]` for civil ones. Tolerated: any spacing, lower-case `and`/`or`, unquoted
//! literals, fractional seconds.

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

#[derive(Clone, Debug)]
enum Expr {
    Compare(Comparison),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    fn matches(&self, point: &impl Timed) -> bool {
        match self {
            Expr::Compare(c) => {
                let value = c.field.of(point);
                if c.at_least {
                    value >= c.value
                } else {
                    value < c.value
                }
            }
            Expr::And(all) => all.iter().all(|e| e.matches(point)),
            Expr::Or(any) => any.iter().any(|e| e.matches(point)),
        }
    }

    /// The comparisons every match must satisfy (those joined by the top-level `AND`s).
    fn required(&self) -> Vec<&Comparison> {
        match self {
            Expr::Compare(c) => vec![c],
            Expr::And(all) => all.iter().flat_map(Expr::required).collect(),
            Expr::Or(_) => Vec::new(),
        }
    }
}

/// A parsed filter; no filter matches every point.
#[derive(Debug, Default)]
pub(crate) struct Filter(Option<Expr>);

impl Filter {
    pub(crate) fn parse(text: Option<&str>, data_type: &DataType) -> Result<Filter, GoogleError> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(Filter(None)) };
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0, data_type, prefix: data_type.filter_prefix() };
        let expr = parser.expr()?;
        if parser.at < parser.tokens.len() {
            return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(&parser.tokens[parser.at].text())));
        }
        let filter = Filter(Some(expr));
        filter.check_range()?;
        Ok(filter)
    }

    pub(crate) fn matches(&self, point: &impl Timed) -> bool {
        self.0.as_ref().is_none_or(|expr| expr.matches(point))
    }

    fn required(&self) -> Vec<&Comparison> {
        self.0.as_ref().map(Expr::required).unwrap_or_default()
    }

    /// An empty closed-open window on one field is refused, as live.
    fn check_range(&self) -> Result<(), GoogleError> {
        let required = self.required();
        for low in required.iter().filter(|c| c.at_least) {
            if required.iter().any(|high| !high.at_least && high.field == low.field && high.value <= low.value) {
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

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Literal(String),
    Op(String),
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) | Token::Literal(w) | Token::Op(w) => w.clone(),
            Token::And => "AND".into(),
            Token::Or => "OR".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
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
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '"' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => literal.push(c),
                        None => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT", None)),
                    }
                }
                tokens.push(Token::Literal(literal));
            }
            '<' | '>' | '=' | '!' | ':' => {
                let mut op = String::new();
                while let Some(&c) = chars.peek().filter(|c| "<>=!:".contains(**c)) {
                    op.push(c);
                    chars.next();
                }
                tokens.push(Token::Op(op));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek().filter(|c| !c.is_whitespace() && !"()\"<>=!".contains(**c)) {
                    word.push(c);
                    chars.next();
                }
                tokens.push(match word.as_str() {
                    "AND" | "and" => Token::And,
                    "OR" | "or" => Token::Or,
                    _ if word.starts_with(|c: char| c.is_ascii_alphabetic()) => Token::Word(word),
                    _ => Token::Literal(word),
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    data_type: &'a DataType,
    prefix: String,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<Token, GoogleError> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token.ok_or_else(|| error("INVALID_DATA_POINT_FILTER_UNEXPECTED_END_OF_INPUT", None))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn expr(&mut self) -> Result<Expr, GoogleError> {
        let mut all = vec![self.term()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            all.push(self.term()?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Expr::And(all) })
    }

    fn term(&mut self) -> Result<Expr, GoogleError> {
        let mut any = vec![self.factor()?];
        while self.peek() == Some(&Token::Or) {
            if self.data_type.kind != Kind::Sleep {
                return Err(error("INVALID_DATA_POINT_FILTER_EXPRESSION_STRUCTURE", Some("OR")));
            }
            self.at += 1;
            any.push(self.factor()?);
        }
        Ok(if any.len() == 1 { any.remove(0) } else { Expr::Or(any) })
    }

    fn factor(&mut self) -> Result<Expr, GoogleError> {
        match self.next()? {
            Token::Open => {
                let expr = self.expr()?;
                match self.next()? {
                    Token::Close => Ok(expr),
                    other => Err(error("INVALID_DATA_POINT_FILTER_MISSING_TOKEN", Some(&other.text()))),
                }
            }
            Token::Word(name) => {
                let field = self.field(&name)?;
                let at_least = match self.next()? {
                    Token::Op(op) if op == ">=" => true,
                    Token::Op(op) if op == "<" => false,
                    Token::Op(op) => return Err(error("INVALID_DATA_POINT_FILTER_RESTRICTION_COMPARABLE", Some(&op))),
                    other => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(&other.text()))),
                };
                let literal = match self.next()? {
                    Token::Literal(literal) => literal,
                    other => return Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(&other.text()))),
                };
                let value =
                    literal_value(field, &literal).ok_or_else(|| error("INVALID_FILTER_FORMAT", Some(&literal)))?;
                Ok(Expr::Compare(Comparison { field, at_least, value }))
            }
            other => Err(error("INVALID_DATA_POINT_FILTER_UNEXPECTED_TOKEN", Some(&other.text()))),
        }
    }

    /// The field a name refers to, if it is one of this type's filterable times.
    fn field(&self, name: &str) -> Result<Field, GoogleError> {
        let restriction = || error("INVALID_DATA_POINT_FILTER_DATA_TYPE_RESTRICTION", Some(name));
        let rest = name.strip_prefix(self.prefix.as_str()).and_then(|r| r.strip_prefix('.')).ok_or_else(restriction)?;
        let field = match (self.data_type.kind, rest) {
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
}

/// The literal as a wall clock: UTC for physical fields, civil for the others.
fn literal_value(field: Field, literal: &str) -> Option<NaiveDateTime> {
    if field.is_physical() {
        return DateTime::parse_from_rfc3339(literal).ok().map(|t| t.naive_utc());
    }
    let midnight = NaiveDate::parse_from_str(literal, "%Y-%m-%d").ok().filter(|_| literal.len() == 10);
    if field == Field::Date {
        return midnight.map(|day| day.and_time(Default::default()));
    }
    midnight
        .map(|day| day.and_time(Default::default()))
        .or_else(|| NaiveDateTime::parse_from_str(literal, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .or_else(|| NaiveDateTime::parse_from_str(literal, "%Y-%m-%dT%H:%M").ok())
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
        let tolerant =
            parse(&format!("( {field}>=2026-11-02 and {field} < \"2026-11-03T00:00\" )"), "exercise").unwrap();
        assert!(!tolerant.matches(&run));
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
        ] {
            assert!(parse(bad, "weight").is_err(), "{bad}");
        }
        assert!(Filter::parse(None, find("weight").unwrap())
            .unwrap()
            .matches(&point("2026-01-01T00:00:00", "2026-01-01T00:00:00")));
    }
}
