//! Keyword arguments to settings: every value becomes the string an INI file or a flag would
//! give, then goes through the core's one `resolve`, so the rules and messages are the same.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};

use waitress_rs::settings::{self, RawSettings, Settings, Source};

/// Whether `value` is a list, tuple or set: a keyword's several values.
fn is_collection(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>()
        || value.is_instance_of::<PySet>()
        || value.is_instance_of::<PyFrozenSet>()
}

/// The string form of a keyword value: what the same setting looks like in an INI file.
fn as_setting_string(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_none() {
        // waitress's `ident=None` (no Server header); an empty value means the same here.
        return Ok(String::new());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if value.is_instance_of::<PyInt>() && name == "unix_socket_perms" {
        // waitress refuses an int here (TypeError); read as octal digits, 0o660 (432) became
        // mode 0o432 without a word.
        return Err(PyValueError::new_err(
            "unix_socket_perms: give the permission bits as an octal string such as '660' (an \
             int is ambiguous: 660 or 0o660?)",
        ));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(float_setting_string(name, f.value()));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(value.str()?.to_string());
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_string());
    }
    if is_collection(value) {
        let mut items = Vec::new();
        for item in value.try_iter()? {
            let item = item?;
            // One level, as waitress's aslist: a list that held itself recursed until the
            // interpreter's stack overflowed.
            if is_collection(&item) {
                return Err(PyValueError::new_err(format!(
                    "{name}: a list inside a list is not supported; give one list of values"
                )));
            }
            items.push(as_setting_string(name, &item)?);
        }
        if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
            items.sort();
        }
        return Ok(items.join(" "));
    }
    Err(PyValueError::new_err(format!(
        "{name}: a {} value is not supported; give a str, int, bool or list",
        value.get_type().name()?
    )))
}

/// A float keyword: a whole number as the integer (`port=8080.0`, which waitress's `int()`
/// takes), and a fraction of a second for a duration in milliseconds (`channel_timeout=1.5`
/// is 1.5 s, where waitress truncates it to 1, and `asyncore_loop_timeout=0.1` to a busy 0).
/// Anything else is left as written, for the converter to refuse.
fn float_setting_string(name: &str, value: f64) -> String {
    let is_duration = settings::key(name).is_some_and(|k| k.value_name == "SECONDS");
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if is_duration && value.is_finite() && value > 0.0 && value < 1e12 {
        format!("{}ms", (value * 1000.0).round())
    } else {
        value.to_string()
    }
}

/// Resolves `kw` into settings; every problem found is in one `ValueError`, one per line.
pub fn settings_from_kwargs(py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<Settings> {
    let mut raw = RawSettings::new();
    let mut errors = Vec::new();
    if let Some(kw) = kw {
        for (key, value) in kw.iter() {
            let name: String = key.extract()?;
            let text = as_setting_string(&name, &value)?;
            if let Err(unknown) = raw.set(&name, text.trim(), Source::Keyword(name.clone())) {
                errors.push(unknown.to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(PyValueError::new_err(errors.join("\n")));
    }
    let resolved = py.detach(|| Settings::resolve(&raw)).map_err(|errs| {
        PyValueError::new_err(
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    for warning in &resolved.warnings {
        log::warn!(target: "waitress", "{warning}");
    }
    Ok(resolved.settings)
}
