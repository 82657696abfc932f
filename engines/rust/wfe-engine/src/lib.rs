//! Write a wfe engine plugin in Rust.
//!
//! Implement [`Engine`] for a type, name it with [`export_plugin!`], and
//! build the crate as a `cdylib`: the result is a plugin the controller
//! loads like one written in C (docs/plugin-abi.md). This crate owns every
//! `unsafe` step: the descriptors the host reads, the copy of each input
//! into a slice, the answer appended to the host's buffer, an [`Error`] (or
//! a panic, caught at the boundary) turned into the host's error record.
//!
//! ```ignore
//! struct Mine;
//! impl wfe_engine::Engine for Mine { /* ... */ }
//! wfe_engine::export_plugin!(Mine, c"mine", c"1.0.0");
//! ```
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub mod ffi;

pub use ffi::{
    WFE_E_INTERNAL, WFE_E_INVALID, WFE_E_NOMEM, WFE_E_NOT_FOUND, WFE_E_UNAVAILABLE,
    WFE_E_UNSUPPORTED,
};

/// Log levels of [`Host::log`].
#[derive(Clone, Copy, Debug)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

/// An error record as the host reports it: `code` is one of the `WFE_E_*`
/// constants, `reason` a CamelCase word, `field` the path of the input the
/// error is about (`spec.parameters.X`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub retryable: bool,
    pub reason: String,
    pub field: Option<String>,
    pub message: String,
}

impl Error {
    pub fn new(code: i32, reason: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        Error {
            code,
            retryable: false,
            reason: reason.to_owned(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
    /// The input is invalid: the execution ends Failed with this message.
    pub fn invalid(reason: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(WFE_E_INVALID, reason, field, message)
    }
    /// The engine cannot do this, ever (cancel of a run that cannot stop).
    pub fn unsupported(reason: &str, message: impl Into<String>) -> Self {
        Self::new(WFE_E_UNSUPPORTED, reason, None, message)
    }
    /// A transient failure: the host retries with backoff.
    pub fn unavailable(reason: &str, message: impl Into<String>) -> Self {
        Error {
            retryable: true,
            ..Self::new(WFE_E_UNAVAILABLE, reason, None, message)
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}: {}", self.reason, field, self.message),
            None => write!(f, "{}: {}", self.reason, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// The host's services, for an engine's own use. Valid until the plugin is
/// unloaded; may be used from any thread.
#[derive(Clone, Copy)]
pub struct Host {
    table: *const ffi::Host,
}

// The host table is immutable and every function in it is thread-safe.
unsafe impl Send for Host {}
unsafe impl Sync for Host {}

/// A C string of `text`, with any NUL (which C cannot carry) made a space.
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

impl Host {
    fn table(&self) -> &ffi::Host {
        // SAFETY: the host passes a table that outlives every engine.
        unsafe { &*self.table }
    }

    /// Writes one log line (no newline) attributed to `engine`.
    pub fn log(&self, level: Level, engine: &str, message: &str) {
        if let Some(log) = self.table().log {
            let (engine, message) = (c_string(engine), c_string(message));
            // SAFETY: both strings live across the call.
            unsafe { log(self.table, level as i32, engine.as_ptr(), message.as_ptr()) }
        }
    }

    /// The lowercase hex SHA-256 of `data` (for deterministic names).
    pub fn sha256_hex(&self, data: &[u8]) -> String {
        let mut out = [0 as c_char; 65];
        if let Some(sha) = self.table().sha256_hex {
            // SAFETY: `out` has the 65 bytes the host writes.
            unsafe { sha(data.as_ptr().cast(), data.len(), out.as_mut_ptr()) };
        }
        // SAFETY: the host NUL-terminates; a zeroed buffer is "" otherwise.
        unsafe { CStr::from_ptr(out.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Reads one Kubernetes object (JSON). Err with `WFE_E_NOT_FOUND` when
    /// it does not exist.
    pub fn get_object(
        &self,
        api_version: &str,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Vec<u8>, Error> {
        let get = self
            .table()
            .get_object
            .ok_or_else(|| Error::unsupported("NoGetObject", "this host cannot read objects"))?;
        let (v, r, n) = (c_string(api_version), c_string(resource), c_string(name));
        let ns = namespace.map(c_string);
        self.with_buffer(|buf| {
            // SAFETY: every string lives across the call; `buf` is the host's.
            unsafe {
                get(
                    self.table,
                    v.as_ptr(),
                    r.as_ptr(),
                    ns.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                    n.as_ptr(),
                    buf,
                    std::ptr::null_mut(),
                )
            }
        })
    }

    /// Lists objects (ABI 1.1 hosts; `WFE_E_UNSUPPORTED` from a 1.0 host).
    pub fn list_objects(
        &self,
        api_version: &str,
        resource: &str,
        namespace: Option<&str>,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<Vec<u8>, Error> {
        let has = self.table().struct_size as usize
            >= std::mem::offset_of!(ffi::Host, list_objects) + std::mem::size_of::<usize>();
        let list = self
            .table()
            .list_objects
            .filter(|_| has)
            .ok_or_else(|| Error::unsupported("NoListObjects", "the host predates ABI 1.1"))?;
        let (v, r) = (c_string(api_version), c_string(resource));
        let (l, f) = (c_string(label_selector), c_string(field_selector));
        let ns = namespace.map(c_string);
        self.with_buffer(|buf| {
            // SAFETY: as in get_object.
            unsafe {
                list(
                    self.table,
                    v.as_ptr(),
                    r.as_ptr(),
                    ns.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                    l.as_ptr(),
                    f.as_ptr(),
                    buf,
                    std::ptr::null_mut(),
                )
            }
        })
    }

    /// Runs `call` with a fresh host buffer and returns its bytes.
    fn with_buffer(&self, call: impl FnOnce(*mut ffi::Buf) -> i32) -> Result<Vec<u8>, Error> {
        let t = self.table();
        let (new, data, free) = match (t.buf_new, t.buf_data, t.buf_free) {
            (Some(n), Some(d), Some(f)) => (n, d, f),
            _ => return Err(Error::unsupported("NoBuffers", "this host has no buffers")),
        };
        // SAFETY: a buffer of the host's, freed below on every path.
        let buf = unsafe { new() };
        if buf.is_null() {
            return Err(Error::new(
                WFE_E_NOMEM,
                "OutOfMemory",
                None,
                "no host buffer",
            ));
        }
        let rc = call(buf);
        let result = if rc == ffi::WFE_OK {
            let mut len = 0usize;
            // SAFETY: the host returns `len` readable bytes.
            let p = unsafe { data(buf, &mut len) };
            Ok(if p.is_null() {
                Vec::new()
            } else {
                unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec()
            })
        } else {
            Err(Error::new(
                rc,
                "HostCallFailed",
                None,
                format!("the host answered {rc}"),
            ))
        };
        // SAFETY: made by buf_new above.
        unsafe { free(buf) };
        result
    }
}

/// What a plugin implements. Every method may be called from many threads
/// at once; `render` and `interpret` answer the JSON documents of
/// docs/plugin-abi.md, `cancel` a JSON merge patch.
pub trait Engine: Send + Sync + Sized + 'static {
    /// The engine's name (what `spec.workflowRef.engine` says).
    const NAME: &'static CStr;
    const VERSION: &'static CStr;
    const DESCRIPTION: &'static CStr;
    /// The run object: `"group/version"` (or `"v1"`), kind, plural resource.
    const API_VERSION: &'static CStr;
    const KIND: &'static CStr;
    const RESOURCE: &'static CStr;
    const HAS_STATUS_SUBRESOURCE: bool = false;

    /// Makes the engine from its configuration (JSON; empty when none). A
    /// bad configuration is an `Error::invalid` naming the key.
    fn create(host: Host, config: &[u8]) -> Result<Self, Error>;
    fn validate(&self, execution: &[u8]) -> Result<(), Error>;
    fn render(&self, execution: &[u8]) -> Result<Vec<u8>, Error>;
    fn interpret(&self, run: &[u8]) -> Result<Vec<u8>, Error>;
    fn cancel(&self, _run: &[u8]) -> Result<Vec<u8>, Error> {
        Err(Error::unsupported(
            "NotCancellable",
            "this engine's runs cannot be cancelled",
        ))
    }
}

/// What the host holds for an engine: the engine and the table it was made
/// with, which its calls answer and report errors through.
struct Instance<E> {
    host: Host,
    engine: E,
}

/// Fills the host's error record and returns the code.
fn report(host: Host, err: *mut ffi::ErrorRecord, e: &Error) -> i32 {
    let code = if e.code < 0 { e.code } else { WFE_E_INTERNAL };
    if host.table.is_null() || err.is_null() {
        return code;
    }
    if let Some(set) = host.table().error_set {
        let reason = c_string(&e.reason);
        let field = e.field.as_deref().map(c_string);
        let message = c_string(&e.message);
        // SAFETY: the strings live across the call; the host copies them.
        unsafe {
            set(
                err,
                code,
                e.retryable as i32,
                reason.as_ptr(),
                field.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                message.as_ptr(),
            )
        };
    }
    code
}

/// Runs `f`, a panic becoming an `EnginePanicked` error.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Err(Error::new(WFE_E_INTERNAL, "EnginePanicked", None, what))
    })
}

/// The input bytes of a call.
unsafe fn input<'a>(data: *const c_char, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the host passes `len` readable bytes for the call.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    }
}

#[doc(hidden)]
pub unsafe extern "C" fn create<E: Engine>(
    host: *const ffi::Host,
    config: *const c_char,
    len: usize,
    out: *mut *mut c_void,
    err: *mut ffi::ErrorRecord,
) -> i32 {
    let host = Host { table: host };
    // SAFETY: the host's arguments, valid for the call.
    let config = unsafe { input(config, len) };
    match guarded(|| E::create(host, config)) {
        Ok(engine) => {
            // SAFETY: `out` is the host's slot for the instance.
            unsafe { *out = Box::into_raw(Box::new(Instance { host, engine })).cast() };
            ffi::WFE_OK
        }
        Err(e) => report(host, err, &e),
    }
}

#[doc(hidden)]
pub unsafe extern "C" fn destroy<E: Engine>(instance: *mut c_void) {
    if !instance.is_null() {
        // SAFETY: made by create::<E>.
        drop(unsafe { Box::from_raw(instance.cast::<Instance<E>>()) });
    }
}

#[doc(hidden)]
pub unsafe extern "C" fn validate<E: Engine>(
    instance: *mut c_void,
    data: *const c_char,
    len: usize,
    err: *mut ffi::ErrorRecord,
) -> i32 {
    // SAFETY: made by create::<E>; the input is the host's.
    let (i, data) = unsafe { (&*instance.cast::<Instance<E>>(), input(data, len)) };
    match guarded(|| i.engine.validate(data)) {
        Ok(()) => ffi::WFE_OK,
        Err(e) => report(i.host, err, &e),
    }
}

/// An operation that answers a document.
unsafe fn answer<E: Engine>(
    instance: *mut c_void,
    data: *const c_char,
    len: usize,
    out: *mut ffi::Buf,
    err: *mut ffi::ErrorRecord,
    op: fn(&E, &[u8]) -> Result<Vec<u8>, Error>,
) -> i32 {
    // SAFETY: made by create::<E>; the input is the host's.
    let (i, data) = unsafe { (&*instance.cast::<Instance<E>>(), input(data, len)) };
    let doc = match guarded(|| op(&i.engine, data)) {
        Ok(doc) => doc,
        Err(e) => return report(i.host, err, &e),
    };
    // SAFETY: `out` is the host's buffer for this call.
    let appended = i
        .host
        .table()
        .buf_append
        .map_or(ffi::WFE_E_INTERNAL, |append| unsafe {
            append(out, doc.as_ptr().cast(), doc.len())
        });
    if appended == ffi::WFE_OK {
        ffi::WFE_OK
    } else {
        report(
            i.host,
            err,
            &Error::new(WFE_E_NOMEM, "OutOfMemory", None, "the answer did not fit"),
        )
    }
}

#[doc(hidden)]
pub unsafe extern "C" fn render<E: Engine>(
    i: *mut c_void,
    d: *const c_char,
    n: usize,
    o: *mut ffi::Buf,
    e: *mut ffi::ErrorRecord,
) -> i32 {
    unsafe { answer::<E>(i, d, n, o, e, E::render) }
}

#[doc(hidden)]
pub unsafe extern "C" fn interpret<E: Engine>(
    i: *mut c_void,
    d: *const c_char,
    n: usize,
    o: *mut ffi::Buf,
    e: *mut ffi::ErrorRecord,
) -> i32 {
    unsafe { answer::<E>(i, d, n, o, e, E::interpret) }
}

#[doc(hidden)]
pub unsafe extern "C" fn cancel<E: Engine>(
    i: *mut c_void,
    d: *const c_char,
    n: usize,
    o: *mut ffi::Buf,
    e: *mut ffi::ErrorRecord,
) -> i32 {
    unsafe { answer::<E>(i, d, n, o, e, E::cancel) }
}

#[doc(hidden)]
pub const fn run_type<E: Engine>() -> ffi::RunType {
    ffi::RunType {
        struct_size: std::mem::size_of::<ffi::RunType>() as u32,
        api_version: E::API_VERSION.as_ptr(),
        kind: E::KIND.as_ptr(),
        resource: E::RESOURCE.as_ptr(),
        has_status_subresource: E::HAS_STATUS_SUBRESOURCE as i32,
    }
}

#[doc(hidden)]
pub const fn engine<E: Engine>(run_type: &'static ffi::RunType) -> ffi::Engine {
    ffi::Engine {
        struct_size: std::mem::size_of::<ffi::Engine>() as u32,
        name: E::NAME.as_ptr(),
        version: E::VERSION.as_ptr(),
        description: E::DESCRIPTION.as_ptr(),
        run_type,
        create: Some(create::<E>),
        destroy: Some(destroy::<E>),
        validate: Some(validate::<E>),
        render: Some(render::<E>),
        interpret: Some(interpret::<E>),
        cancel: Some(cancel::<E>),
        describe: None,
        get_extension: None,
    }
}

#[doc(hidden)]
pub const fn plugin(
    name: &'static CStr,
    version: &'static CStr,
    engines: &'static ffi::EngineList,
) -> ffi::Plugin {
    ffi::Plugin {
        struct_size: std::mem::size_of::<ffi::Plugin>() as u32,
        abi_major: ffi::ABI_MAJOR,
        abi_minor: ffi::ABI_MINOR,
        name: name.as_ptr(),
        version: version.as_ptr(),
        init: None,
        fini: None,
        engine_count: 1,
        engines: engines.0.as_ptr(),
    }
}

/// Defines the plugin's descriptors and its entry point `wfe_plugin_entry`
/// for the engine type `$engine`: `export_plugin!(Mine, c"mine", c"1.0.0")`.
#[macro_export]
macro_rules! export_plugin {
    ($engine:ty, $name:expr, $version:expr) => {
        static WFE_RUN_TYPE: $crate::ffi::RunType = $crate::run_type::<$engine>();
        static WFE_ENGINE: $crate::ffi::Engine = $crate::engine::<$engine>(&WFE_RUN_TYPE);
        static WFE_ENGINES: $crate::ffi::EngineList = $crate::ffi::EngineList([&WFE_ENGINE]);
        static WFE_PLUGIN: $crate::ffi::Plugin = $crate::plugin($name, $version, &WFE_ENGINES);

        /// The entry point the host looks up.
        #[no_mangle]
        pub extern "C" fn wfe_plugin_entry() -> *const $crate::ffi::Plugin {
            &WFE_PLUGIN
        }
    };
}
