/*
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library.  If not, see
 * <https://www.gnu.org/licenses/>.
 *
 * Sahid Orentino Ferdjaoui <sahid.ferdjaoui@redhat.com>
 */

use std::convert::TryInto;
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_uint, c_ulong, c_ulonglong, c_void};
use std::{mem, ptr, str};

use uuid::Uuid;

use crate::domain::{Domain, DomainStatsRecord};
use crate::enumutil::{impl_enum, RawEnum};
use crate::error::Error;
use crate::interface::Interface;
use crate::network::Network;
use crate::nodedev::NodeDevice;
use crate::nwfilter::NWFilter;
use crate::secret::Secret;
use crate::storage_pool::StoragePool;
use crate::storage_vol::StorageVol;
use crate::util::{c_ulong_to_u64, check_neg, check_null, check_zero};

extern "C" fn connect_callback(
    ccreds: sys::virConnectCredentialPtr,
    ncred: c_uint,
    cbdata: *mut c_void,
) -> c_int {
    let callback: ConnectAuthCallback = unsafe {
        // Safe because connect_callback is private and only used by
        // Connect::open_auth(). In open_auth() we transmute the
        // callback allocate in *void.
        mem::transmute(cbdata)
    };
    let mut rcreds: Vec<ConnectCredential> = Vec::new();
    for i in 0..ncred as isize {
        // Safe because ccreds is allocated.
        let c = unsafe { ConnectCredential::from_ptr(ccreds.offset(i)) };
        rcreds.push(c);
    }
    callback(&mut rcreds);
    for i in 0..ncred as isize {
        if rcreds[i as usize].result.is_some() {
            if let Some(ref result) = rcreds[i as usize].result {
                unsafe {
                    // libvirt will call free() on 'result', so we must provide
                    // memory allocated by the C malloc impl
                    let bytes = result.as_bytes();
                    let buffer = ::libc::malloc(bytes.len() + 1);
                    ::std::ptr::copy(bytes.as_ptr().cast(), buffer, bytes.len());
                    ::std::ptr::write(buffer.add(bytes.len()) as *mut u8, 0u8);

                    // Safe because ccreds is allocated and the result
                    // is comming from Rust calls.
                    (*ccreds.offset(i)).resultlen = result.len() as c_uint;
                    (*ccreds.offset(i)).result = buffer as *mut c_char;
                }
            }
        }
    }
    0
}

#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// Indicating the CPU model.
    pub model: String,
    /// Memory size in kilobytes.
    pub memory: u64,
    /// The number of active CPUs.
    pub cpus: u32,
    /// expected CPU frequency, 0 if not known or on unusual
    /// architectures.
    pub mhz: u32,
    /// The number of NUMA cell, 1 for unusual NUMA topologies or
    /// uniform memory access; check capabilities XML for the actual
    /// NUMA topology
    pub nodes: u32,
    /// Number of CPU sockets per node if nodes > 1, 1 in case of
    /// unusual NUMA topology.
    pub sockets: u32,
    /// Number of cores per socket, total number of processors in case
    /// of unusual NUMA topology
    pub cores: u32,
    /// Number of threads per core, 1 in case of unusual numa topology
    pub threads: u32,
}

// TODO(sahid): should support closure
pub type ConnectAuthCallback = fn(creds: &mut Vec<ConnectCredential>);

#[derive(Clone, Debug)]
pub struct ConnectCredential {
    /// One of `ConnectCredentialType` constants
    pub typed: ConnectCredentialType,
    /// Prompt to show to user.
    pub prompt: String,
    /// Additional challenge to show.
    pub challenge: String,
    /// Optional default result.
    pub def_result: String,
    /// Result to be filled with user response (or def_result).
    pub result: Option<String>,
}

impl ConnectCredential {
    /// # Safety
    ///
    /// The caller must ensure that the pointer is valid.
    pub unsafe fn from_ptr(cred: sys::virConnectCredentialPtr) -> ConnectCredential {
        let mut default: String = String::from("");
        if !(*cred).defresult.is_null() {
            default = c_chars_to_string!((*cred).defresult, nofree);
        }
        ConnectCredential {
            // unwrap() will not fail because the cred type must
            // be one of those declared in 'ConnectAuth'
            typed: ConnectCredentialType::from_raw((*cred).type_ as sys::virConnectCredentialType)
                .unwrap(),
            prompt: c_chars_to_string!((*cred).prompt, nofree),
            challenge: c_chars_to_string!((*cred).challenge, nofree),
            def_result: default,
            result: None,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum ConnectCredentialType {
    UserName,
    AuthName,
    Language,
    CNonce,
    Passphrase,
    EchoPrompt,
    NoEchoPrompt,
    Realm,
    External,
}

impl_enum! {
    enum: ConnectCredentialType,
    raw: sys::virConnectCredentialType,
    match: {
        sys::VIR_CRED_USERNAME => UserName,
        sys::VIR_CRED_AUTHNAME => AuthName,
        sys::VIR_CRED_LANGUAGE => Language,
        sys::VIR_CRED_CNONCE => CNonce,
        sys::VIR_CRED_PASSPHRASE => Passphrase,
        sys::VIR_CRED_ECHOPROMPT => EchoPrompt,
        sys::VIR_CRED_NOECHOPROMPT => NoEchoPrompt,
        sys::VIR_CRED_REALM => Realm,
        sys::VIR_CRED_EXTERNAL => External,
    }
}

pub struct ConnectAuth {
    /// List of supported `ConnectCredentialType` values.
    creds: Vec<ConnectCredentialType>,
    /// Callback used to collect credentials.
    callback: ConnectAuthCallback,
}

impl ConnectAuth {
    pub fn new(creds: Vec<ConnectCredentialType>, callback: ConnectAuthCallback) -> ConnectAuth {
        ConnectAuth { creds, callback }
    }
}

/// Provides APIs for the management of hosts.
///
/// See <https://libvirt.org/html/libvirt-libvirt-host.html>
#[derive(Debug)]
pub struct Connect {
    ptr: sys::virConnectPtr,
}

impl Drop for Connect {
    fn drop(&mut self) {
        if let Err(e) = check_neg!(unsafe { sys::virConnectClose(self.as_ptr()) }) {
            panic!("Unable to drop reference on connection: {e}")
        }
    }
}

impl Clone for Connect {
    /// Creates a copy of connection.
    ///
    /// Increments the internal reference counter on the given
    /// connection. The reference will be released when the
    /// Rust wrapper is dropped, which happens when the variable
    /// goes out of scope. Immediate release can be triggered
    /// with the `std::mem::drop` method
    ///
    /// # Examples
    ///
    /// ````
    /// use virt::connect::Connect;
    ///
    /// let conn1 = Connect::open(Some("test:///default")).unwrap();
    /// let conn2 = conn1.clone();
    /// let conn3 = conn2.clone();
    /// drop(conn2); // Immediate release
    /// drop(conn3); // Immediate release
    /// // conn1 implicitly dropped when leaving scope
    /// ````
    fn clone(&self) -> Self {
        match check_neg!(unsafe { sys::virConnectRef(self.as_ptr()) }) {
            Err(e) => panic!("Unable to add reference on connection: {e}"),
            Ok(_) => unsafe { Connect::from_ptr(self.as_ptr()) },
        }
    }
}

unsafe impl Send for Connect {}
unsafe impl Sync for Connect {}

impl Connect {
    /// # Safety
    ///
    /// The pointer returned by this method is a copy of
    /// a pointer that is normally tracked by reference
    /// counting in the underlying implementation. Creating
    /// a copy of the pointer explicitly circumvents that
    /// reference counting. The returned pointer may be
    /// invalidated if this object is dropped.
    pub unsafe fn as_ptr(&self) -> sys::virConnectPtr {
        self.ptr
    }

    /// # Safety
    ///
    /// The caller must ensure that the pointer is valid.
    /// The rust wrapper will own the reference count
    /// for the C object upon return.
    pub unsafe fn from_ptr(ptr: sys::virConnectPtr) -> Connect {
        Connect { ptr }
    }

    /// Get the local library version number
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virGetVersion>
    pub fn version() -> Result<u32, Error> {
        let mut ver: c_ulong = 0;
        let _ = check_neg!(unsafe { sys::virGetVersion(&mut ver, ptr::null(), ptr::null_mut()) })?;
        Ok(ver as u32)
    }

    /// This function should be called first to get a connection to
    /// the Hypervisor and xen store.
    ///
    /// If `uri` is "", if the LIBVIRT_DEFAULT_URI environment
    /// variable is set, then it will be used. Otherwise if the client
    /// configuration file has the "uri_default" parameter set, then
    /// it will be used. Finally probing will be done to determine a
    /// suitable default driver to activate. This involves trying each
    /// hypervisor in turn until one successfully opens.
    ///
    /// If connecting to an unprivileged hypervisor driver which
    /// requires the libvirtd daemon to be active, it will
    /// automatically be launched if not already running. This can be
    /// prevented by setting the environment variable
    /// LIBVIRT_AUTOSTART=0
    ///
    /// URIs are documented at <https://libvirt.org/uri.html>
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let mut conn = match Connect::open(Some("test:///default")) {
    ///     Ok(c) => c,
    ///     Err(e) => panic!("Unable to connect: {e}"),
    /// };
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectOpen>
    pub fn open(uri: Option<&str>) -> Result<Connect, Error> {
        let uri_buf = some_string_to_cstring!(uri);
        let c = check_null!(unsafe { sys::virConnectOpen(some_cstring_to_c_chars!(uri_buf)) })?;
        Ok(unsafe { Connect::from_ptr(c) })
    }

    /// This function should be called first to get a restricted
    /// connection to the library functionalities. The set of APIs
    /// usable are then restricted on the available methods to control
    /// the domains.
    ///
    /// See [`open()`] for notes about environment variables which can have
    /// an effect on opening drivers and freeing the connection
    /// resources.
    ///
    /// [`open()`]: Connect::open
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectOpenReadOnly>
    pub fn open_read_only(uri: Option<&str>) -> Result<Connect, Error> {
        let uri_buf = some_string_to_cstring!(uri);
        let c =
            check_null!(unsafe { sys::virConnectOpenReadOnly(some_cstring_to_c_chars!(uri_buf)) })?;
        Ok(unsafe { Connect::from_ptr(c) })
    }

    /// This function should be called first to get a connection to
    /// the Hypervisor with the ability to provide authentication
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectOpenAuth>
    pub fn open_auth(
        uri: Option<&str>,
        auth: &mut ConnectAuth,
        flags: sys::virConnectFlags,
    ) -> Result<Connect, Error> {
        let mut ccreds: Vec<sys::virConnectCredentialType> = Vec::new();
        for x in 0..auth.creds.len() {
            ccreds.push(auth.creds[x].to_raw())
        }
        let mut cauth =
            // Safe because Rust forces to allocate all attributes of
            // the struct ConnectAuth.
            sys::virConnectAuth {
                credtype: ccreds.as_mut_ptr() as *mut c_int,
                ncredtype: ccreds.len() as c_uint,
                cb: Some(connect_callback),
                cbdata: auth.callback as *mut _,
        };
        let uri_buf = some_string_to_cstring!(uri);
        let c = check_null!(unsafe {
            sys::virConnectOpenAuth(
                some_cstring_to_c_chars!(uri_buf),
                &mut cauth,
                flags as c_uint,
            )
        })?;
        Ok(unsafe { Connect::from_ptr(c) })
    }

    /// This returns a system hostname on which the hypervisor is
    /// running (based on the result of the gethostname system call,
    /// but possibly expanded to a fully-qualified domain name via
    /// getaddrinfo).  If we are connected to a remote system, then
    /// this returns the hostname of the remote system.
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetHostname>
    pub fn hostname(&self) -> Result<String, Error> {
        let n = check_null!(unsafe { sys::virConnectGetHostname(self.as_ptr()) })?;
        Ok(unsafe { c_chars_to_string!(n) })
    }

    /// Returns the host driver capabilities
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetCapabilities>
    pub fn capabilities(&self) -> Result<String, Error> {
        let n = check_null!(unsafe { sys::virConnectGetCapabilities(self.as_ptr()) })?;
        Ok(unsafe { c_chars_to_string!(n) })
    }

    /// Returns the remote connection version
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetLibVersion>
    pub fn lib_version(&self) -> Result<u32, Error> {
        let mut ver: c_ulong = 0;
        let _ = check_neg!(unsafe { sys::virConnectGetLibVersion(self.as_ptr(), &mut ver) })?;
        Ok(ver as u32)
    }

    /// Returns the connection driver type
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetType>
    pub fn driver_type(&self) -> Result<String, Error> {
        let t = check_null!(unsafe { sys::virConnectGetType(self.as_ptr()) })?;
        Ok(unsafe { c_chars_to_string!(t, nofree) })
    }

    /// Returns the connection URI string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetURI>
    pub fn uri(&self) -> Result<String, Error> {
        let t = check_null!(unsafe { sys::virConnectGetURI(self.as_ptr()) })?;
        Ok(unsafe { c_chars_to_string!(t) })
    }

    /// Returns the host system information
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetSysinfo>
    pub fn sys_info(&self, flags: u32) -> Result<String, Error> {
        let sys =
            check_null!(unsafe { sys::virConnectGetSysinfo(self.as_ptr(), flags as c_uint) })?;
        Ok(unsafe { c_chars_to_string!(sys) })
    }

    /// Retunrns the maximum virtual CPUs supported for virtual machines
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetMaxVcpus>
    pub fn max_vcpus(&self, domtype: Option<&str>) -> Result<u32, Error> {
        let type_buf = some_string_to_cstring!(domtype);
        let max = check_neg!(unsafe {
            sys::virConnectGetMaxVcpus(self.as_ptr(), some_cstring_to_c_chars!(type_buf))
        })?;
        Ok(max as u32)
    }

    /// Returns the list of known CPU model names
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetCPUModelNames>
    pub fn cpu_models_names(&self, arch: &str, flags: u32) -> Result<Vec<String>, Error> {
        let mut names: *mut *mut c_char = ptr::null_mut();
        let arch_buf = CString::new(arch)?;
        let size = check_neg!(unsafe {
            sys::virConnectGetCPUModelNames(
                self.as_ptr(),
                arch_buf.as_ptr(),
                &mut names,
                flags as c_uint,
            )
        })?;

        let mut array: Vec<String> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { c_chars_to_string!(*names.offset(x)) });
        }
        unsafe { libc::free(names as *mut c_void) };

        Ok(array)
    }

    /// Determine if the connection is still alive
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectIsAlive>
    pub fn is_alive(&self) -> Result<bool, Error> {
        let t = check_neg!(unsafe { sys::virConnectIsAlive(self.as_ptr()) })?;
        Ok(t == 1)
    }

    /// Determine if the connection data transport is encrypted
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectIsEncrypted>
    pub fn is_encrypted(&self) -> Result<bool, Error> {
        let t = check_neg!(unsafe { sys::virConnectIsEncrypted(self.as_ptr()) })?;
        Ok(t == 1)
    }

    /// Determine if the connection data transport is secure
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectIsSecure>
    pub fn is_secure(&self) -> Result<bool, Error> {
        let t = check_neg!(unsafe { sys::virConnectIsSecure(self.as_ptr()) })?;
        Ok(t == 1)
    }

    /// Returns a list of IDs for running domain objects
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let domains = conn.list_domains().unwrap();
    /// assert_eq!(domains.len(), 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectListDomains>
    #[allow(clippy::needless_range_loop)]
    pub fn list_domains(&self) -> Result<Vec<u32>, Error> {
        let mut ids: [c_int; 512] = [0; 512];
        let size = check_neg!(unsafe {
            sys::virConnectListDomains(self.as_ptr(), ids.as_mut_ptr(), 512)
        })?;
        let mut array: Vec<u32> = Vec::new();
        for x in 0..size as usize {
            array.push(ids[x] as u32);
        }
        Ok(array)
    }

    /// Returns a list of active interface object names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let ifaces = conn.list_interfaces().unwrap();
    /// assert_eq!(ifaces.len(), 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virConnectListInterfaces>
    #[allow(clippy::needless_range_loop)]
    pub fn list_interfaces(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListInterfaces(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of active network object names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let networks = conn.list_networks().unwrap();
    /// assert_eq!(networks.len(), 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virConnectListNetworks>
    #[allow(clippy::needless_range_loop)]
    pub fn list_networks(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListNetworks(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of network filter names
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virConnectListNWFilters>
    #[allow(clippy::needless_range_loop)]
    pub fn list_nw_filters(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListNWFilters(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of secret object UUID strings
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virConnectListSecrets>
    #[allow(clippy::needless_range_loop)]
    pub fn list_secrets(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListSecrets(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of active storage pool object names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let pools = conn.list_storage_pools().unwrap();
    /// assert_eq!(pools.len(), 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectListStoragePools>
    #[allow(clippy::needless_range_loop)]
    pub fn list_storage_pools(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListStoragePools(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of domain objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectListAllDomains>
    pub fn list_all_domains(
        &self,
        flags: sys::virConnectListAllDomainsFlags,
    ) -> Result<Vec<Domain>, Error> {
        let mut domains: *mut sys::virDomainPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllDomains(self.as_ptr(), &mut domains, flags as c_uint)
        })?;
        let mut array: Vec<Domain> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { Domain::from_ptr(*domains.offset(x)) });
        }
        unsafe { libc::free(domains as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of network objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virConnectListAllNetworks>
    pub fn list_all_networks(
        &self,
        flags: sys::virConnectListAllNetworksFlags,
    ) -> Result<Vec<Network>, Error> {
        let mut networks: *mut sys::virNetworkPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllNetworks(self.as_ptr(), &mut networks, flags as c_uint)
        })?;
        let mut array: Vec<Network> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { Network::from_ptr(*networks.offset(x)) });
        }
        unsafe { libc::free(networks as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of interface objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virConnectListAllInterfaces>
    pub fn list_all_interfaces(
        &self,
        flags: sys::virConnectListAllInterfacesFlags,
    ) -> Result<Vec<Interface>, Error> {
        let mut interfaces: *mut sys::virInterfacePtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllInterfaces(self.as_ptr(), &mut interfaces, flags as c_uint)
        })?;
        let mut array: Vec<Interface> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { Interface::from_ptr(*interfaces.offset(x)) });
        }
        unsafe { libc::free(interfaces as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of node devices
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nodedev.html#virConnectListAllNodeDevices>
    pub fn list_all_node_devices(
        &self,
        flags: sys::virConnectListAllNodeDeviceFlags,
    ) -> Result<Vec<NodeDevice>, Error> {
        let mut nodedevs: *mut sys::virNodeDevicePtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllNodeDevices(self.as_ptr(), &mut nodedevs, flags as c_uint)
        })?;
        let mut array: Vec<NodeDevice> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { NodeDevice::from_ptr(*nodedevs.offset(x)) });
        }
        unsafe { libc::free(nodedevs as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of secret objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virConnectListAllSecrets>
    pub fn list_all_secrets(
        &self,
        flags: sys::virConnectListAllSecretsFlags,
    ) -> Result<Vec<Secret>, Error> {
        let mut secrets: *mut sys::virSecretPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllSecrets(self.as_ptr(), &mut secrets, flags as c_uint)
        })?;
        let mut array: Vec<Secret> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { Secret::from_ptr(*secrets.offset(x)) });
        }
        unsafe { libc::free(secrets as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of storage pool objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectListAllStoragePools>
    pub fn list_all_storage_pools(
        &self,
        flags: sys::virConnectListAllStoragePoolsFlags,
    ) -> Result<Vec<StoragePool>, Error> {
        let mut storages: *mut sys::virStoragePoolPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllStoragePools(self.as_ptr(), &mut storages, flags as c_uint)
        })?;
        let mut array: Vec<StoragePool> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { StoragePool::from_ptr(*storages.offset(x)) });
        }
        unsafe { libc::free(storages as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of network filter objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virConnectListAllNWFilters>
    pub fn list_all_nw_filters(&self, flags: u32) -> Result<Vec<NWFilter>, Error> {
        let mut filters: *mut sys::virNWFilterPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectListAllNWFilters(self.as_ptr(), &mut filters, flags as c_uint)
        })?;
        let mut array: Vec<NWFilter> = Vec::new();
        for x in 0..size as isize {
            array.push(unsafe { NWFilter::from_ptr(*filters.offset(x)) });
        }
        unsafe { libc::free(filters as *mut c_void) };

        Ok(array)
    }

    /// Returns a list of inactive domain object names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let domains = conn.list_defined_domains().unwrap();
    /// assert_eq!(domains.len(), 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectListDefinedDomains>
    #[allow(clippy::needless_range_loop)]
    pub fn list_defined_domains(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListDefinedDomains(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of inactive interface object names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let ifaces = conn.list_defined_interfaces().unwrap();
    /// assert_eq!(ifaces.len(), 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virConnectListDefinedInterfaces>
    #[allow(clippy::needless_range_loop)]
    pub fn list_defined_interfaces(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListDefinedInterfaces(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of inactive storage pool names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let pools = conn.list_defined_storage_pools().unwrap();
    /// assert_eq!(pools.len(), 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectListDefinedStoragePools>
    #[allow(clippy::needless_range_loop)]
    pub fn list_defined_storage_pools(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListDefinedStoragePools(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns a list of inactive netwokr names
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let networks = conn.list_defined_networks().unwrap();
    /// assert_eq!(networks.len(), 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virConnectListDefinedNetworks>
    #[allow(clippy::needless_range_loop)]
    pub fn list_defined_networks(&self) -> Result<Vec<String>, Error> {
        let mut names: [*mut c_char; 1024] = [ptr::null_mut(); 1024];
        let size = check_neg!(unsafe {
            sys::virConnectListDefinedNetworks(self.as_ptr(), names.as_mut_ptr(), 1024)
        })?;
        let mut array: Vec<String> = Vec::new();
        for x in 0..size as usize {
            array.push(unsafe { c_chars_to_string!(names[x]) });
        }
        Ok(array)
    }

    /// Returns the number of running domain objects
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_domains = conn.num_of_domains().unwrap();
    /// assert_eq!(num_domains, 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectNumOfDomains>
    pub fn num_of_domains(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfDomains(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of active interfaces
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_ifaces = conn.num_of_interfaces().unwrap();
    /// assert_eq!(num_ifaces, 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virConnectNumOfInterfaces>
    pub fn num_of_interfaces(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfInterfaces(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of active networks
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_networks = conn.num_of_networks().unwrap();
    /// assert_eq!(num_networks, 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virConnectNumOfNetworks>
    pub fn num_of_networks(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfNetworks(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of active storage pools
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_pools = conn.num_of_storage_pools().unwrap();
    /// assert_eq!(num_pools, 1);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectNumOfStoragePools>
    pub fn num_of_storage_pools(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfStoragePools(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of network filter objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virConnectNumOfNWFilters>
    pub fn num_of_nw_filters(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfNWFilters(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of secret objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virConnectNumOfSecrets>
    pub fn num_of_secrets(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfSecrets(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of inactive domain objects
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_domains = conn.num_of_defined_domains().unwrap();
    /// assert_eq!(num_domains, 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectNumOfDefinedDomains>
    pub fn num_of_defined_domains(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfDefinedDomains(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of inactive interfaces
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_ifaces = conn.num_of_defined_interfaces().unwrap();
    /// assert_eq!(num_ifaces, 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virConnectNumOfDefinedInterfaces>
    pub fn num_of_defined_interfaces(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfDefinedInterfaces(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of inactive networks
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_networks = conn.num_of_defined_networks().unwrap();
    /// assert_eq!(num_networks, 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virConnectNumOfDefinedNetworks>
    pub fn num_of_defined_networks(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfDefinedNetworks(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the number of inactive storage pools
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let num_pools = conn.num_of_defined_storage_pools().unwrap();
    /// assert_eq!(num_pools, 0);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectNumOfDefinedStoragePools>
    pub fn num_of_defined_storage_pools(&self) -> Result<u32, Error> {
        let num = check_neg!(unsafe { sys::virConnectNumOfDefinedStoragePools(self.as_ptr()) })?;
        Ok(num as u32)
    }

    /// Returns the hypervisor version number
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let hyp_version = conn.hyp_version().unwrap();
    /// assert_eq!(hyp_version, 2);
    /// ```
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectGetVersion>
    pub fn hyp_version(&self) -> Result<u32, Error> {
        let mut hyver: c_ulong = 0;
        let _ = check_neg!(unsafe { sys::virConnectGetVersion(self.as_ptr(), &mut hyver) })?;
        Ok(hyver as u32)
    }

    /// Compare CPU definitions for compatibility
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectCompareCPU>
    pub fn compare_cpu(
        &self,
        xml: &str,
        flags: sys::virConnectCompareCPUFlags,
    ) -> Result<sys::virCPUCompareResult, Error> {
        let xml_buf = CString::new(xml)?;
        let res = check_neg!(unsafe {
            sys::virConnectCompareCPU(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(res as sys::virCPUCompareResult)
    }

    /// Returns the free memory on the host
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virNodeGetFreeMemory>
    pub fn free_memory(&self) -> Result<u64, Error> {
        let res = check_zero!(unsafe { sys::virNodeGetFreeMemory(self.as_ptr()) })?;
        Ok(res)
    }

    /// Returns the host resource information
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virNodeGetInfo>
    pub fn node_info(&self) -> Result<NodeInfo, Error> {
        let mut pinfo = mem::MaybeUninit::uninit();
        let _ = check_neg!(unsafe { sys::virNodeGetInfo(self.as_ptr(), pinfo.as_mut_ptr()) })?;
        let pinfo = unsafe { pinfo.assume_init() };
        Ok(NodeInfo {
            model: unsafe { c_chars_to_string!(pinfo.model.as_ptr(), nofree) },
            memory: c_ulong_to_u64(pinfo.memory),
            cpus: pinfo.cpus,
            mhz: pinfo.mhz,
            nodes: pinfo.nodes,
            sockets: pinfo.sockets,
            cores: pinfo.cores,
            threads: pinfo.threads,
        })
    }

    /// Controls the keep-alive settings on the libvirt connection
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectSetKeepAlive>
    pub fn set_keep_alive(&self, interval: i32, count: u32) -> Result<(), Error> {
        let _ = check_neg!(unsafe {
            sys::virConnectSetKeepAlive(self.as_ptr(), interval as c_int, count as c_uint)
        })?;
        Ok(())
    }

    /// Returns libvirt XML corresponding to a hypervisor
    /// native configuration file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectDomainXMLFromNative>
    pub fn domain_xml_from_native(
        &self,
        nformat: &str,
        nconfig: &str,
        flags: u32,
    ) -> Result<String, Error> {
        let nformat_buf = CString::new(nformat)?;
        let nconfig_buf = CString::new(nconfig)?;
        let ret = check_null!(unsafe {
            sys::virConnectDomainXMLFromNative(
                self.as_ptr(),
                nformat_buf.as_ptr(),
                nconfig_buf.as_ptr(),
                flags as c_uint,
            )
        })?;
        Ok(unsafe { c_chars_to_string!(ret) })
    }

    /// Returns the hypervisor native configuration for
    /// a libvirt XML document
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectDomainXMLToNative>
    pub fn domain_xml_to_native(
        &self,
        nformat: &str,
        dxml: &str,
        flags: u32,
    ) -> Result<String, Error> {
        let nformat_buf = CString::new(nformat)?;
        let dxml_buf = CString::new(dxml)?;
        let ret = check_null!(unsafe {
            sys::virConnectDomainXMLToNative(
                self.as_ptr(),
                nformat_buf.as_ptr(),
                dxml_buf.as_ptr(),
                flags as c_uint,
            )
        })?;
        Ok(unsafe { c_chars_to_string!(ret) })
    }

    /// Returns the domain capabilities description
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectGetDomainCapabilities>
    pub fn domain_capabilities(
        &self,
        emulatorbin: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String, Error> {
        let emulatorbin_buf = some_string_to_cstring!(emulatorbin);
        let arch_buf = some_string_to_cstring!(arch);
        let machine_buf = some_string_to_cstring!(machine);
        let virttype_buf = some_string_to_cstring!(virttype);
        let ret = check_null!(unsafe {
            sys::virConnectGetDomainCapabilities(
                self.as_ptr(),
                some_cstring_to_c_chars!(emulatorbin_buf),
                some_cstring_to_c_chars!(arch_buf),
                some_cstring_to_c_chars!(machine_buf),
                some_cstring_to_c_chars!(virttype_buf),
                flags as c_uint,
            )
        })?;
        Ok(unsafe { c_chars_to_string!(ret) })
    }

    /// Returns the domain statistics
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virConnectGetAllDomainStats>
    pub fn all_domain_stats(
        &self,
        stats: u32,
        flags: u32,
    ) -> Result<Vec<DomainStatsRecord>, Error> {
        let mut record: *mut sys::virDomainStatsRecordPtr = ptr::null_mut();
        let size = check_neg!(unsafe {
            sys::virConnectGetAllDomainStats(
                self.as_ptr(),
                stats as c_uint,
                &mut record,
                flags as c_uint,
            )
        })?;

        let mut array: Vec<DomainStatsRecord> = Vec::new();
        for x in 0..size as isize {
            array.push(DomainStatsRecord {
                ptr: unsafe { *record.offset(x) },
            });
        }
        unsafe { libc::free(record as *mut c_void) };

        Ok(array)
    }

    /// Determine the baseline between multiple CPU definitions
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virConnectBaselineCPU>
    pub fn baseline_cpu(
        &self,
        xmlcpus: &[&str],
        flags: sys::virConnectBaselineCPUFlags,
    ) -> Result<String, Error> {
        let mut xcpus: Vec<CString> = Vec::with_capacity(xmlcpus.len());
        let mut xcpus_buf: Vec<*const c_char> = Vec::with_capacity(xmlcpus.len());
        for xml_cpu in xmlcpus {
            let cstring = CString::new(*xml_cpu)?;
            xcpus_buf.push(cstring.as_ptr());
            xcpus.push(cstring);
        }
        let ret = check_null!(unsafe {
            sys::virConnectBaselineCPU(
                self.as_ptr(),
                xcpus_buf.as_mut_ptr(),
                xmlcpus.len() as c_uint,
                flags as c_uint,
            )
        })?;
        Ok(unsafe { c_chars_to_string!(ret) })
    }

    /// Find storage pools matching a given specification
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virConnectFindStoragePoolSources>
    pub fn find_storage_pool_sources(
        &self,
        kind: &str,
        spec: Option<&str>,
        flags: u32,
    ) -> Result<String, Error> {
        let kind_buf = CString::new(kind)?;
        let spec_buf = some_string_to_cstring!(spec);
        let n = check_null!(unsafe {
            sys::virConnectFindStoragePoolSources(
                self.as_ptr(),
                kind_buf.as_ptr(),
                some_cstring_to_c_chars!(spec_buf),
                flags as c_uint,
            )
        })?;
        Ok(unsafe { c_chars_to_string!(n) })
    }

    /// Connect.cells_free_memory should be used to get
    /// information on free memory on individual NUMA nodes, starting
    /// with `start_cell` and consecutive `max_cells`. Continuous NUMA
    /// node IDs are expected. Returned values are in bytes.
    ///
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virNodeGetCellsFreeMemory>
    pub fn cells_free_memory(&self, start_cell: i32, max_cells: i32) -> Result<Vec<u64>, Error> {
        let mut free_mems: Vec<c_ulonglong> = Vec::with_capacity(max_cells as usize);
        let size: i32 = check_neg!(unsafe {
            sys::virNodeGetCellsFreeMemory(
                self.as_ptr(),
                free_mems.as_mut_ptr(),
                start_cell as c_int,
                max_cells as c_int,
            )
        })?;

        unsafe { free_mems.set_len(size as usize) };

        let mut array: Vec<u64> = Vec::new();
        for x in free_mems.iter().take(size as usize) {
            array.push(*x);
        }

        Ok(array)
    }

    /// Connect.free_pages should be used to get information on free memory
    /// pages of size `pages` (in KiB) on individual `cell_count` NUMA nodes
    /// starting with `start_cell. Returned is a vector of free page counts for
    /// each NUMA node consecutively.
    ///
    /// # Examples
    ///
    /// ```
    /// use virt::connect::Connect;
    ///
    /// let conn = Connect::open(Some("test:///default")).unwrap();
    /// let free_pages = conn.free_pages(&[4, 8, 2048, 1024 * 1024], 0, 2, 0);
    /// ```
    ///
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-host.html#virNodeGetFreePages>
    pub fn free_pages(
        &self,
        pages: &[u32],
        start_cell: u32,
        cell_count: u32,
        flags: u32,
    ) -> Result<Vec<u64>, Error> {
        let nentries = cell_count as usize * pages.len();
        let mut counts = vec![0; nentries];

        let size = check_neg!(unsafe {
            sys::virNodeGetFreePages(
                self.as_ptr(),
                pages.len().try_into().unwrap(),
                pages.as_ptr() as *mut _,
                start_cell.try_into().unwrap(),
                cell_count,
                counts.as_mut_ptr(),
                flags,
            )
        })?;

        counts.truncate(size.try_into().unwrap());

        Ok(counts)
    }

    /// Returns the interface object with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virInterfaceLookupByName>
    pub fn lookup_interface_by_name(&self, id: &str) -> Result<Interface, Error> {
        let id_buf = CString::new(id)?;
        let ptr =
            check_null!(unsafe { sys::virInterfaceLookupByName(self.as_ptr(), id_buf.as_ptr()) })?;
        Ok(unsafe { Interface::from_ptr(ptr) })
    }

    /// Writes the inactive interface object config
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virInterfaceDefineXML>
    pub fn define_interface_xml(&self, xml: &str, flags: u32) -> Result<Interface, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virInterfaceDefineXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { Interface::from_ptr(ptr) })
    }

    /// Returns the interface object wit the requested MAC address
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-interface.html#virInterfaceLookupByMACString>
    pub fn lookup_interface_by_mac_string(&self, id: &str) -> Result<Interface, Error> {
        let id_buf = CString::new(id)?;
        let ptr = check_null!(unsafe {
            sys::virInterfaceLookupByMACString(self.as_ptr(), id_buf.as_ptr())
        })?;
        Ok(unsafe { Interface::from_ptr(ptr) })
    }

    /// Returns the domain object with the requested ID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainLookupByID>
    pub fn lookup_domain_by_id(&self, id: u32) -> Result<Domain, Error> {
        let ptr = check_null!(unsafe { sys::virDomainLookupByID(self.as_ptr(), id as c_int) })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Returns the domain object with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainLookupByName>
    pub fn lookup_domain_by_name(&self, id: &str) -> Result<Domain, Error> {
        let id_buf = CString::new(id)?;
        let ptr =
            check_null!(unsafe { sys::virDomainLookupByName(self.as_ptr(), id_buf.as_ptr()) })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Returns the domain object with the requested UUID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainLookupByUUID>
    pub fn lookup_domain_by_uuid(&self, uuid: Uuid) -> Result<Domain, Error> {
        let ptr = check_null!(unsafe {
            sys::virDomainLookupByUUID(self.as_ptr(), uuid.as_bytes().as_ptr())
        })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Returns the domain object with the requested UUID string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainLookupByUUIDString>
    pub fn lookup_domain_by_uuid_string(&self, uuid: &str) -> Result<Domain, Error> {
        let uuid_buf = CString::new(uuid)?;
        let ptr = check_null!(unsafe {
            sys::virDomainLookupByUUIDString(self.as_ptr(), uuid_buf.as_ptr())
        })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Launch a new guest domain, based on an XML description similar
    /// to the one returned by [`xml_desc()`].
    ///
    /// This function may require privileged access to the hypervisor.
    ///
    /// The domain is not persistent, so its definition will disappear
    /// when it is destroyed, or if the host is restarted (see
    /// [`define_domain_xml()`] to define persistent domains).
    ///
    /// [`xml_desc()`]: Domain::xml_desc
    /// [`define_domain_xml()`]: Connect::define_domain_xml
    ///
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainCreateXML>
    pub fn create_domain_xml(
        &self,
        xml: &str,
        flags: sys::virDomainCreateFlags,
    ) -> Result<Domain, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virDomainCreateXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Define a domain, but does not start it.
    ///
    /// This definition is persistent, until explicitly undefined with
    /// [`undefine()`]. A previous definition for this domain would be
    /// overridden if it already exists.
    ///
    /// # Note:
    ///
    /// Some hypervisors may prevent this operation if there is a
    /// current block copy operation on a transient domain with the
    /// same id as the domain being defined.
    ///
    /// [`undefine()`]: Domain::undefine
    ///
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainDefineXML>
    pub fn define_domain_xml(&self, xml: &str) -> Result<Domain, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe { sys::virDomainDefineXML(self.as_ptr(), xml_buf.as_ptr()) })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Define a domain, but does not start it.
    ///
    /// This definition is persistent, until explicitly undefined with
    /// [`undefine()`]. A previous definition for this domain would be
    /// overridden if it already exists.
    ///
    /// # Note:
    ///
    /// Some hypervisors may prevent this operation if there is a
    /// current block copy operation on a transient domain with the
    /// same id as the domain being defined.
    ///
    /// [`undefine()`]: Domain::undefine
    ///
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainDefineXMLFlags>
    pub fn define_domain_xml_flags(
        &self,
        xml: &str,
        flags: sys::virDomainDefineFlags,
    ) -> Result<Domain, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virDomainDefineXMLFlags(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { Domain::from_ptr(ptr) })
    }

    /// Restore a domain from a saved state file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainRestore>
    pub fn restore_domain(&self, path: &str) -> Result<(), Error> {
        let path_buf = CString::new(path)?;
        let _ = check_neg!(unsafe { sys::virDomainRestore(self.as_ptr(), path_buf.as_ptr()) })?;
        Ok(())
    }

    /// Restore a domain from a saved state file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainRestoreFlags>
    pub fn restore_domain_flags(
        &self,
        path: &str,
        dxml: Option<&str>,
        flags: sys::virDomainSaveRestoreFlags,
    ) -> Result<(), Error> {
        let path_buf = CString::new(path)?;
        let dxml_buf = some_string_to_cstring!(dxml);
        let _ = check_neg!(unsafe {
            sys::virDomainRestoreFlags(
                self.as_ptr(),
                path_buf.as_ptr(),
                some_cstring_to_c_chars!(dxml_buf),
                flags,
            )
        })?;
        Ok(())
    }

    /// Returns the XML embedded in a saved state file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainSaveImageGetXMLDesc>
    pub fn save_image_xml_desc(&self, file: &str, flags: u32) -> Result<String, Error> {
        let file_buf = CString::new(file)?;
        let ptr = check_null!(unsafe {
            sys::virDomainSaveImageGetXMLDesc(self.as_ptr(), file_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { c_chars_to_string!(ptr) })
    }

    /// Updates the XML embedded in a saved state file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainSaveImageDefineXML>
    pub fn save_image_define_xml(&self, file: &str, dxml: &str, flags: u32) -> Result<(), Error> {
        let file_buf = CString::new(file)?;
        let dxml_buf = CString::new(dxml)?;
        let _ = check_neg!(unsafe {
            sys::virDomainSaveImageDefineXML(
                self.as_ptr(),
                file_buf.as_ptr(),
                dxml_buf.as_ptr(),
                flags as c_uint,
            )
        })?;
        Ok(())
    }

    /// Returns the network object with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virNetworkLookupByName>
    pub fn lookup_network_by_name(&self, id: &str) -> Result<Network, Error> {
        let id_buf = CString::new(id)?;
        let ptr =
            check_null!(unsafe { sys::virNetworkLookupByName(self.as_ptr(), id_buf.as_ptr()) })?;
        Ok(unsafe { Network::from_ptr(ptr) })
    }

    /// Returns the network object with the requested UUID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virNetworkLookupByUUID>
    pub fn lookup_network_by_uuid(&self, uuid: Uuid) -> Result<Network, Error> {
        let ptr = check_null!(unsafe {
            sys::virNetworkLookupByUUID(self.as_ptr(), uuid.as_bytes().as_ptr())
        })?;
        Ok(unsafe { Network::from_ptr(ptr) })
    }

    /// Returns the network object with the requested UUID string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virNetworkLookupByUUIDString>
    pub fn lookup_network_by_uuid_string(&self, uuid: &str) -> Result<Network, Error> {
        let uuid_buf = CString::new(uuid)?;
        let ptr = check_null!(unsafe {
            sys::virNetworkLookupByUUIDString(self.as_ptr(), uuid_buf.as_ptr())
        })?;
        Ok(unsafe { Network::from_ptr(ptr) })
    }

    /// Writes an inactive network configuration file
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virNetworkDefineXML>
    pub fn define_network_xml(&self, xml: &str) -> Result<Network, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr =
            check_null!(unsafe { sys::virNetworkDefineXML(self.as_ptr(), xml_buf.as_ptr()) })?;
        Ok(unsafe { Network::from_ptr(ptr) })
    }

    /// Creates an active network
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-network.html#virNetworkCreateXML>
    pub fn create_network_xml(&self, xml: &str) -> Result<Network, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr =
            check_null!(unsafe { sys::virNetworkCreateXML(self.as_ptr(), xml_buf.as_ptr()) })?;
        Ok(unsafe { Network::from_ptr(ptr) })
    }

    /// Returns the node device object with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nodedev.html#virNodeDeviceLookupByName>
    pub fn lookup_node_device_by_name(&self, id: &str) -> Result<NodeDevice, Error> {
        let id_buf = CString::new(id)?;
        let ptr =
            check_null!(unsafe { sys::virNodeDeviceLookupByName(self.as_ptr(), id_buf.as_ptr()) })?;
        Ok(unsafe { NodeDevice::from_ptr(ptr) })
    }

    /// Returns the node device corresponding to a SCSI host
    /// with the requested WWN.
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nodedev.html#virNodeDeviceLookupSCSIHostByWWN>
    pub fn lookup_node_device_scsi_host_by_wwn(
        &self,
        wwnn: &str,
        wwpn: &str,
        flags: u32,
    ) -> Result<NodeDevice, Error> {
        let wwnn_buf = CString::new(wwnn)?;
        let wwpn_buf = CString::new(wwpn)?;
        let ptr = check_null!(unsafe {
            sys::virNodeDeviceLookupSCSIHostByWWN(
                self.as_ptr(),
                wwnn_buf.as_ptr(),
                wwpn_buf.as_ptr(),
                flags as c_uint,
            )
        })?;
        Ok(unsafe { NodeDevice::from_ptr(ptr) })
    }

    /// Creates a node device object
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nodedev.html#virNodeDeviceCreateXML>
    pub fn create_node_device_xml(&self, xml: &str, flags: u32) -> Result<NodeDevice, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virNodeDeviceCreateXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { NodeDevice::from_ptr(ptr) })
    }

    /// Returns the number of node device objects
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nodedev.html#virNodeNumOfDevices>
    pub fn num_of_node_devices(&self, cap: Option<&str>, flags: u32) -> Result<u32, Error> {
        let cap_buf = some_string_to_cstring!(cap);
        let num = check_neg!(unsafe {
            sys::virNodeNumOfDevices(
                self.as_ptr(),
                some_cstring_to_c_chars!(cap_buf),
                flags as c_uint,
            )
        })?;
        Ok(num as u32)
    }

    /// Returns the network filter with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virNWFilterLookupByName>
    pub fn lookup_nwfilter_by_name(&self, id: &str) -> Result<NWFilter, Error> {
        let id_buf = CString::new(id)?;
        let ptr =
            check_null!(unsafe { sys::virNWFilterLookupByName(self.as_ptr(), id_buf.as_ptr()) })?;
        Ok(unsafe { NWFilter::from_ptr(ptr) })
    }

    /// Returns the network filter with the requested UUID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virNWFilterLookupByUUID>
    pub fn lookup_nwfilter_by_uuid(&self, uuid: Uuid) -> Result<NWFilter, Error> {
        let ptr = check_null!(unsafe {
            sys::virNWFilterLookupByUUID(self.as_ptr(), uuid.as_bytes().as_ptr())
        })?;
        Ok(unsafe { NWFilter::from_ptr(ptr) })
    }

    /// Returns the network filter with the requested UUID string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virNWFilterLookupByUUIDString>
    pub fn lookup_nwfilter_by_uuid_string(&self, uuid: &str) -> Result<NWFilter, Error> {
        let uuid_buf = CString::new(uuid)?;
        let ptr = check_null!(unsafe {
            sys::virNWFilterLookupByUUIDString(self.as_ptr(), uuid_buf.as_ptr())
        })?;
        Ok(unsafe { NWFilter::from_ptr(ptr) })
    }

    /// Writes an inactive network filter config
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-nwfilter.html#virNWFilterDefineXML>
    pub fn define_nwfilter_xml(&self, xml: &str) -> Result<NWFilter, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr =
            check_null!(unsafe { sys::virNWFilterDefineXML(self.as_ptr(), xml_buf.as_ptr()) })?;
        Ok(unsafe { NWFilter::from_ptr(ptr) })
    }

    /// Writes a secret object config
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virSecretDefineXML>
    pub fn define_secret_xml(&self, xml: &str, flags: u32) -> Result<Secret, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virSecretDefineXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { Secret::from_ptr(ptr) })
    }

    /// Returns the secret object with the requested UUID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virSecretLookupByUUID>
    pub fn lookup_secret_by_uuid(&self, uuid: Uuid) -> Result<Secret, Error> {
        let ptr = check_null!(unsafe {
            sys::virSecretLookupByUUID(self.as_ptr(), uuid.as_bytes().as_ptr())
        })?;
        Ok(unsafe { Secret::from_ptr(ptr) })
    }

    /// Returns the secret object with the requested UUID string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virSecretLookupByUUIDString>
    pub fn lookup_secret_by_uuid_string(&self, uuid: &str) -> Result<Secret, Error> {
        let uuid_buf = CString::new(uuid)?;
        let ptr = check_null!(unsafe {
            sys::virSecretLookupByUUIDString(self.as_ptr(), uuid_buf.as_ptr())
        })?;
        Ok(unsafe { Secret::from_ptr(ptr) })
    }

    /// Returns the secret object with the requested usage identifier
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-secret.html#virSecretLookupByUsage>
    pub fn lookup_secret_by_usage(&self, usagetype: i32, usageid: &str) -> Result<Secret, Error> {
        let usageid_buf = CString::new(usageid)?;
        let ptr = check_null!(unsafe {
            sys::virSecretLookupByUsage(self.as_ptr(), usagetype as c_int, usageid_buf.as_ptr())
        })?;
        Ok(unsafe { Secret::from_ptr(ptr) })
    }

    /// Writes an inactive storage pool config
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolDefineXML>
    pub fn define_storage_pool_xml(&self, xml: &str, flags: u32) -> Result<StoragePool, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virStoragePoolDefineXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Creates an active storage pool
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolCreateXML>
    pub fn create_storage_pool_xml(
        &self,
        xml: &str,
        flags: sys::virStoragePoolCreateFlags,
    ) -> Result<StoragePool, Error> {
        let xml_buf = CString::new(xml)?;
        let ptr = check_null!(unsafe {
            sys::virStoragePoolCreateXML(self.as_ptr(), xml_buf.as_ptr(), flags as c_uint)
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Returns the storage pool with the requested name
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolLookupByName>
    pub fn lookup_storage_pool_by_name(&self, id: &str) -> Result<StoragePool, Error> {
        let id_buf = CString::new(id)?;
        let ptr = check_null!(unsafe {
            sys::virStoragePoolLookupByName(self.as_ptr(), id_buf.as_ptr())
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Returns the storage pool with the requested target path
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolLookupByTargetPath>
    pub fn lookup_storage_pool_by_target_path(&self, path: &str) -> Result<StoragePool, Error> {
        let path_buf = CString::new(path)?;
        let ptr = check_null!(unsafe {
            sys::virStoragePoolLookupByTargetPath(self.as_ptr(), path_buf.as_ptr())
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Returns the storage pool with the requested UUID
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolLookupByUUID>
    pub fn lookup_storage_pool_by_uuid(&self, uuid: Uuid) -> Result<StoragePool, Error> {
        let ptr = check_null!(unsafe {
            sys::virStoragePoolLookupByUUID(self.as_ptr(), uuid.as_bytes().as_ptr())
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Returns the storage pool with the requested UUID string
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStoragePoolLookupByUUIDString>
    pub fn lookup_storage_pool_by_uuid_string(&self, uuid: &str) -> Result<StoragePool, Error> {
        let uuid_buf = CString::new(uuid)?;
        let ptr = check_null!(unsafe {
            sys::virStoragePoolLookupByUUIDString(self.as_ptr(), uuid_buf.as_ptr())
        })?;
        Ok(unsafe { StoragePool::from_ptr(ptr) })
    }

    /// Returns the storage volume with the requested key
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStorageVolLookupByKey>
    pub fn lookup_storage_vol_by_key(&self, key: &str) -> Result<StorageVol, Error> {
        let key_buf = CString::new(key)?;
        let ptr =
            check_null!(unsafe { sys::virStorageVolLookupByKey(self.as_ptr(), key_buf.as_ptr()) })?;
        Ok(unsafe { StorageVol::from_ptr(ptr) })
    }

    /// Returns the storage volume with the requested path
    ///
    /// See <https://libvirt.org/html/libvirt-libvirt-storage.html#virStorageVolLookupByPath>
    pub fn lookup_storage_vol_by_path(&self, path: &str) -> Result<StorageVol, Error> {
        let path_buf = CString::new(path)?;
        let ptr = check_null!(unsafe {
            sys::virStorageVolLookupByPath(self.as_ptr(), path_buf.as_ptr())
        })?;
        Ok(unsafe { StorageVol::from_ptr(ptr) })
    }
}
