//! The two libvirt calls the `virt` crate does not wrap safely, behind safe
//! functions: bulk domain stats and domain event callbacks.
//!
//! - `virt` 0.5's `Connect::all_domain_stats` returns raw records without
//!   decoding them and frees only the outer array, leaking every record
//!   (+70 MB RSS per 200k calls, measured). [`all_domain_stats`] decodes the
//!   typed parameters and frees the list with `virDomainStatsRecordListFree`.
//! - `virt` has no wrapper for `virConnectDomainEventRegisterAny`;
//!   [`register_events`] registers lifecycle and metadata-change callbacks
//!   whose opaque pointer is an `Arc<EventSink>` released by libvirt's free
//!   callback.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use super::events::EventSink;

/// One typed parameter value. Numbers become `f64` (counters up to 2^53
/// are exact; libvirt's byte and nanosecond counters stay far below that
/// for centuries of guest time); strings are kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any numeric or boolean parameter.
    Num(f64),
    /// A string parameter (device names, paths).
    Str(String),
}

/// One domain's bulk stats record.
#[derive(Debug)]
pub struct StatsRecord {
    /// The domain (its own reference, independent of the freed list).
    pub domain: Domain,
    /// Domain UUID.
    pub uuid: String,
    /// libvirt domain name.
    pub name: String,
    /// `name=value` parameters, e.g. `cpu.time`, `net.0.rx.bytes`.
    pub params: Vec<(String, Value)>,
}

/// `virConnectGetAllDomainStats(conn, stats, flags)`, decoded and freed.
pub fn all_domain_stats(conn: &Connect, stats: u32, flags: u32) -> Result<Vec<StatsRecord>, Error> {
    let mut recs: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: conn is a live connection; libvirt fills `recs` with a
    // NULL-terminated array of `n` records that we own until freed below.
    let n = unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), stats, &mut recs, flags) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n, so the record pointer is valid; each record's dom,
        // params and nparams are valid until virDomainStatsRecordListFree.
        unsafe {
            let r = &**recs.add(i);
            // Our own reference, so the Domain outlives the list; Domain's
            // Drop releases it with virDomainFree.
            if sys::virDomainRef(r.dom) < 0 {
                continue;
            }
            let domain = Domain::from_ptr(r.dom);
            let name = cstr(sys::virDomainGetName(r.dom));
            let uuid = uuid_string(r.dom);
            let params = decode_params(r.params, r.nparams);
            out.push(StatsRecord {
                domain,
                uuid,
                name,
                params,
            });
        }
    }
    // SAFETY: recs came from virConnectGetAllDomainStats (or is NULL when
    // n == 0, which the function accepts).
    unsafe { sys::virDomainStatsRecordListFree(recs) };
    Ok(out)
}

/// Decodes `n` typed parameters.
///
/// # Safety
/// `params` must point to `n` valid `virTypedParameter`s.
unsafe fn decode_params(params: sys::virTypedParameterPtr, n: c_int) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for i in 0..n.max(0) as usize {
        // SAFETY: guaranteed by the caller; the union member read is the one
        // `type_` names.
        unsafe {
            let p = &*params.add(i);
            let name = CStr::from_ptr(p.field.as_ptr())
                .to_string_lossy()
                .into_owned();
            let v = match p.type_ as u32 {
                sys::VIR_TYPED_PARAM_INT => Value::Num(f64::from(p.value.i)),
                sys::VIR_TYPED_PARAM_UINT => Value::Num(f64::from(p.value.ui)),
                sys::VIR_TYPED_PARAM_LLONG => Value::Num(p.value.l as f64),
                sys::VIR_TYPED_PARAM_ULLONG => Value::Num(p.value.ul as f64),
                sys::VIR_TYPED_PARAM_DOUBLE => Value::Num(p.value.d),
                sys::VIR_TYPED_PARAM_BOOLEAN => Value::Num(f64::from(u8::from(p.value.b != 0))),
                sys::VIR_TYPED_PARAM_STRING => Value::Str(cstr(p.value.s)),
                _ => continue,
            };
            out.push((name, v));
        }
    }
    out
}

/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p).to_string_lossy().into_owned() }
}

/// # Safety
/// `dom` must be a valid domain pointer.
unsafe fn uuid_string(dom: sys::virDomainPtr) -> String {
    let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: buf has VIR_UUID_STRING_BUFLEN bytes as the API requires.
    unsafe {
        if sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) < 0 {
            return String::new();
        }
        cstr(buf.as_ptr())
    }
}

unsafe extern "C" fn lifecycle_cb(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    // SAFETY: opaque is the Arc<EventSink> registered below, alive until
    // free_sink runs; dom is valid for the duration of the callback.
    unsafe {
        let sink = &*(opaque as *const EventSink);
        sink.lifecycle(uuid_string(dom), event, detail);
    }
    0
}

unsafe extern "C" fn metadata_cb(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _kind: c_int,
    _nsuri: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: as in lifecycle_cb.
    unsafe {
        let sink = &*(opaque as *const EventSink);
        sink.metadata_changed(uuid_string(dom));
    }
}

unsafe extern "C" fn free_sink(opaque: *mut c_void) {
    // SAFETY: opaque came from Arc::into_raw in register_events; libvirt
    // calls this exactly once per registration.
    unsafe { drop(Arc::from_raw(opaque as *const EventSink)) };
}

/// Registers lifecycle and metadata-change callbacks on `conn`; returns
/// the callback ids for [`deregister_events`]. Needs libvirt's default
/// event loop registered before `conn` was opened and running on a thread.
pub fn register_events(conn: &Connect, sink: &Arc<EventSink>) -> Result<Vec<c_int>, Error> {
    let lifecycle: sys::virConnectDomainEventCallback = Some(lifecycle_cb);
    let metadata: sys::virConnectDomainEventMetadataChangeCallback = Some(metadata_cb);
    // SAFETY: libvirt calls back with the signature of the event id; the
    // generic callback type is how the C API takes every signature.
    let callbacks: [(u32, sys::virConnectDomainEventGenericCallback); 2] = unsafe {
        [
            (
                sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                std::mem::transmute::<
                    sys::virConnectDomainEventCallback,
                    sys::virConnectDomainEventGenericCallback,
                >(lifecycle),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                std::mem::transmute::<
                    sys::virConnectDomainEventMetadataChangeCallback,
                    sys::virConnectDomainEventGenericCallback,
                >(metadata),
            ),
        ]
    };
    let mut ids = Vec::new();
    for (event, cb) in callbacks {
        let opaque = Arc::into_raw(Arc::clone(sink)) as *mut c_void;
        // SAFETY: conn is live; opaque stays valid until free_sink.
        let id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                conn.as_ptr(),
                std::ptr::null_mut(),
                event as c_int,
                cb,
                opaque,
                Some(free_sink),
            )
        };
        if id < 0 {
            let err = Error::last_error();
            // SAFETY: registration failed, so libvirt will not free it.
            unsafe { drop(Arc::from_raw(opaque as *const EventSink)) };
            deregister_events(conn, &ids);
            return Err(err);
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Removes callbacks registered by [`register_events`].
pub fn deregister_events(conn: &Connect, ids: &[c_int]) {
    for &id in ids {
        // SAFETY: conn is live; an unknown id only returns an error.
        unsafe { sys::virConnectDomainEventDeregisterAny(conn.as_ptr(), id) };
    }
}
