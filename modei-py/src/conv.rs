//! Python <-> JSON conversion. No protocol logic: shapes only.

use crate::{invalid_argument, OrRaise};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 128;

/// A Python value (dict, list, tuple, str, int, float, bool, None) as JSON.
pub fn py_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_value(obj, 0)
}

fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(invalid_argument("value nested too deeply"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        // Beyond 64 bits: the nearest double, as serde_json reads the same JSON text.
        let f: f64 = i.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| invalid_argument("integer too large for JSON"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| invalid_argument("non-finite float has no JSON form"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let k = k
                .cast::<PyString>()
                .map_err(|_| invalid_argument("dict keys must be strings"))?
                .to_cow()?
                .into_owned();
            m.insert(k, to_value(&v, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .map(|x| to_value(&x, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| to_value(&x, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    // Result objects of the Python layer expose to_dict().
    if let Ok(d) = obj.call_method0("to_dict") {
        if d.is_instance_of::<PyDict>() {
            return to_value(&d, depth + 1);
        }
    }
    Err(invalid_argument(format!(
        "cannot convert {} to JSON",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )))
}

/// JSON as a Python value.
pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(value_to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, value_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Bytes from `bytes`, `bytearray`, `memoryview`-free inputs or `str` (UTF-8).
pub fn bytes_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    Err(invalid_argument(format!("{what}: expected bytes or str")))
}

/// JSON from a dict/list (converted) or from JSON text given as `str`/`bytes` (read strictly).
pub fn json_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        let b = bytes_arg(obj, what)?;
        return ::modei_core::api::parse_json(&b).or_raise();
    }
    py_to_value(obj)
}

/// JSON text bytes from a dict/list (serialised) or text (as is).
pub fn json_text_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
    {
        return bytes_arg(obj, what);
    }
    let v = py_to_value(obj)?;
    serde_json::to_vec(&v).map_err(|e| invalid_argument(format!("{what}: {e}")))
}

/// Options dict (or None) as a JSON object.
pub fn opts_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match obj {
        None => Ok(Value::Object(Map::new())),
        Some(o) if o.is_none() => Ok(Value::Object(Map::new())),
        Some(o) => json_arg(o, "options"),
    }
}

/// A time: None (the clock), RFC 3339 `str`, `int` Unix ms, or a `datetime` (aware or UTC).
pub fn time_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Value>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if o.is_instance_of::<PyString>()
        || (o.is_instance_of::<PyInt>() && !o.is_instance_of::<PyBool>())
    {
        return py_to_value(o).map(Some);
    }
    if let Ok(ts) = o.call_method0("timestamp") {
        let secs: f64 = ts.extract()?;
        return Ok(Some(Value::from((secs * 1000.0).round() as i64)));
    }
    Err(invalid_argument(
        "time: expected an RFC 3339 str, int Unix ms or a datetime",
    ))
}
