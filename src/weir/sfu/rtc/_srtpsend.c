/* weir.sfu.rtc._srtpsend: SRTP-protect one RTP packet and send it as a UDP datagram, in one call from Python.
 *
 * The SFU's per-packet send path in Python pays for pylibsrtp's wrapper (a bytes copy in, a copy into its
 * buffer, a copy out) and for asyncio's datagram transport, per subscriber per packet. An ``Outlet`` does the
 * same work in C: it copies the packet into a buffer on the stack, calls ``srtp_protect`` of the libsrtp that
 * pylibsrtp bundles (by the function's address and the session's ``srtp_t``, both handed over from Python, so
 * one libsrtp and one session serve both paths), and ``sendto``s the result on a duplicate of the socket's
 * descriptor. Nothing is decided here: which packet, which session and which socket are Python's choices
 * (weir.sfu.rtc.srtpsend).
 *
 * A ``Batch`` is the fan-out of one inbound packet on a socket that many transports share (weir.sfu.rtc.udpmux).
 * Between its ``begin`` and ``flush``, an Outlet aimed with it protects each packet at once, with its own
 * session, but keeps the datagram and its destination in the batch instead of sending it; ``flush`` sends them
 * all with ``sendmmsg``, one system call for the lot, and hands back those the socket would not take. A batch
 * that fills up is sent at once and goes on filling.
 */
#define _GNU_SOURCE /* sendmmsg */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DATAGRAM 1500 /* as pylibsrtp: a packet and its SRTP trailer fit in 1500 bytes */
#define MAX_TRAILER 144   /* libsrtp 2's SRTP_MAX_TRAILER_LEN: the longest tag plus the longest MKI */

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *len_ptr) */
typedef int (*protect_fn)(void *ctx, void *packet, int *length);

#define BATCH_SIZE 64 /* datagrams per sendmmsg: a wider fan-out takes more than one call */

typedef struct {
    PyObject_HEAD
    int fd;            /* a duplicate of the shared socket's descriptor, -1 once closed */
    int open;          /* between begin and flush: aimed Outlets queue here */
    unsigned int count;
    struct mmsghdr messages[BATCH_SIZE];
    struct iovec vectors[BATCH_SIZE];
    struct sockaddr_storage addresses[BATCH_SIZE];
    unsigned char datagrams[BATCH_SIZE][MAX_DATAGRAM];
} Batch;

static PyTypeObject BatchType;

typedef struct {
    PyObject_HEAD
    protect_fn protect;
    void *session;    /* the srtp_t */
    PyObject *owner;  /* the Python object that owns the srtp_t, kept alive while it is used here */
    int fd;           /* a duplicate of the socket's descriptor, -1 until aimed */
    struct sockaddr_storage address;
    socklen_t address_length;
    Batch *batch;     /* the shared socket's batch, if aimed with one */
} Outlet;

static void outlet_close_fd(Outlet *self) {
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    Py_CLEAR(self->batch);
}

static int outlet_init(Outlet *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"protect", "session", "owner", NULL};
    unsigned long long protect, session;
    PyObject *owner;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KKO", keywords, &protect, &session, &owner)) {
        return -1;
    }
    if (protect == 0 || session == 0) {
        PyErr_SetString(PyExc_ValueError, "an Outlet needs srtp_protect's address and an srtp_t");
        return -1;
    }
    self->protect = (protect_fn)(uintptr_t)protect;
    self->session = (void *)(uintptr_t)session;
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    outlet_close_fd(self);
    return 0;
}

static PyObject *outlet_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Outlet *self = (Outlet *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->fd = -1;
    }
    return (PyObject *)self;
}

static void outlet_dealloc(Outlet *self) {
    outlet_close_fd(self);
    Py_XDECREF(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *outlet_aim(Outlet *self, PyObject *args) {
    int fd, port;
    const char *given;
    PyObject *batch = Py_None;
    if (!PyArg_ParseTuple(args, "isi|O", &fd, &given, &port, &batch)) {
        return NULL;
    }
    if (batch != Py_None && !PyObject_TypeCheck(batch, &BatchType)) {
        PyErr_SetString(PyExc_TypeError, "batch must be a Batch or None");
        return NULL;
    }
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
    if (strlen(given) >= sizeof host) {
        PyErr_Format(PyExc_ValueError, "not a numeric IPv4 or IPv6 address: %s", given);
        return NULL;
    }
    strcpy(host, given);
    char *zone = strchr(host, '%'); /* an IPv6 zone: fe80::1%eth0 */
    if (zone != NULL) {
        *zone++ = '\0';
    }
    if (port <= 0 || port > 65535) {
        PyErr_Format(PyExc_ValueError, "port %d out of range", port);
        return NULL;
    }
    struct sockaddr_storage address;
    socklen_t length;
    memset(&address, 0, sizeof address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        length = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (zone != NULL) { /* by name, else by number */
            v6->sin6_scope_id = if_nametoindex(zone);
            if (v6->sin6_scope_id == 0) {
                v6->sin6_scope_id = (uint32_t)strtoul(zone, NULL, 10);
            }
        }
        length = sizeof *v6;
    } else {
        PyErr_Format(PyExc_ValueError, "not a numeric IPv4 or IPv6 address: %s", given);
        return NULL;
    }
    int copy = dup(fd);
    if (copy < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    outlet_close_fd(self);
    self->fd = copy;
    self->address = address;
    self->address_length = length;
    if (batch != Py_None) {
        Py_INCREF(batch);
        self->batch = (Batch *)batch;
    }
    Py_RETURN_NONE;
}

/* Copy ``packet`` into ``datagram`` (MAX_DATAGRAM bytes) and protect it there; its length, or -1 with an error. */
static int outlet_protect(Outlet *self, PyObject *packet, unsigned char *datagram) {
    if (self->fd < 0) {
        PyErr_SetString(PyExc_RuntimeError, "the Outlet is not aimed at a socket");
        return -1;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(packet, &view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view.len > MAX_DATAGRAM - MAX_TRAILER) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return -1;
    }
    int length = (int)view.len;
    memcpy(datagram, view.buf, (size_t)length);
    PyBuffer_Release(&view);
    int status = self->protect(self->session, datagram, &length);
    if (status != 0) {
        PyErr_Format(PyExc_ValueError, "srtp_protect failed with status %d", status);
        return -1;
    }
    return length;
}

static void batch_send(Batch *self);

/* Queue ``packet`` in the open batch; 1 when queued, 0 when the batch is full and the socket takes nothing now,
 * -1 with an error. */
static int outlet_queue(Outlet *self, Batch *batch, PyObject *packet) {
    if (batch->count == BATCH_SIZE) {
        batch_send(batch);
        if (batch->count == BATCH_SIZE) {
            return 0;
        }
    }
    unsigned int i = batch->count;
    int length = outlet_protect(self, packet, batch->datagrams[i]);
    if (length < 0) {
        return -1;
    }
    memcpy(&batch->addresses[i], &self->address, self->address_length);
    batch->vectors[i].iov_len = (size_t)length;
    batch->messages[i].msg_hdr.msg_namelen = self->address_length;
    batch->count = i + 1;
    return 1;
}

static PyObject *outlet_send(Outlet *self, PyObject *packet) {
    Batch *batch = self->batch;
    if (batch != NULL && batch->open && batch->fd >= 0) {
        int queued = outlet_queue(self, batch, packet);
        if (queued < 0) {
            return NULL;
        }
        if (queued > 0) {
            Py_RETURN_NONE;
        }
    }
    unsigned char datagram[MAX_DATAGRAM];
    int length = outlet_protect(self, packet, datagram);
    if (length < 0) {
        return NULL;
    }
    if (sendto(self->fd, datagram, (size_t)length, 0, (struct sockaddr *)&self->address,
               self->address_length) == length) {
        Py_RETURN_NONE;
    }
    /* Would block (a full send buffer) or failed: the caller hands the protected datagram to the socket's own
     * transport, which queues it, or reports the error as it would have. */
    return PyBytes_FromStringAndSize((const char *)datagram, length);
}

static PyObject *outlet_close(Outlet *self, PyObject *unused) {
    outlet_close_fd(self);
    Py_RETURN_NONE;
}

static PyMethodDef outlet_methods[] = {
    {"aim", (PyCFunction)outlet_aim, METH_VARARGS,
     "aim(fd, host, port, batch=None): send on a duplicate of socket descriptor fd to host:port from now on, "
     "through batch while it is open."},
    {"send", (PyCFunction)outlet_send, METH_O,
     "send(packet): protect an RTP packet and send it (or queue it in its open batch); None when sent or queued, "
     "else the protected datagram."},
    {"close", (PyCFunction)outlet_close, METH_NOARGS, "close(): let go of the socket."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject OutletType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "weir.sfu.rtc._srtpsend.Outlet",
    .tp_doc = "Outlet(protect, session, owner): SRTP protect and send with one libsrtp session.",
    .tp_basicsize = sizeof(Outlet),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = outlet_new,
    .tp_init = (initproc)outlet_init,
    .tp_dealloc = (destructor)outlet_dealloc,
    .tp_methods = outlet_methods,
};

/* ---- Batch ---- */

static void batch_clear(Batch *self) {
    self->count = 0;
}

/* sendmmsg what the batch holds; what the socket did not take moves to the front. */
static void batch_send(Batch *self) {
    unsigned int sent = 0;
    while (sent < self->count && self->fd >= 0) {
        int n = sendmmsg(self->fd, self->messages + sent, self->count - sent, 0);
        if (n > 0) {
            sent += (unsigned int)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break; /* would block, or the next datagram failed: the caller decides */
        }
    }
    unsigned int left = self->count - sent;
    for (unsigned int i = 0; i < left && sent > 0; i++) {
        memcpy(self->datagrams[i], self->datagrams[sent + i], self->vectors[sent + i].iov_len);
        self->vectors[i].iov_len = self->vectors[sent + i].iov_len;
        self->addresses[i] = self->addresses[sent + i];
        self->messages[i].msg_hdr.msg_namelen = self->messages[sent + i].msg_hdr.msg_namelen;
    }
    self->count = left;
}

static PyObject *batch_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Batch *self = (Batch *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->fd = -1;
    for (unsigned int i = 0; i < BATCH_SIZE; i++) { /* each message names its own slot, once and for all */
        self->vectors[i].iov_base = self->datagrams[i];
        struct msghdr *header = &self->messages[i].msg_hdr;
        header->msg_name = &self->addresses[i];
        header->msg_iov = &self->vectors[i];
        header->msg_iovlen = 1;
    }
    return (PyObject *)self;
}

static int batch_init(Batch *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"fd", NULL};
    int fd;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "i", keywords, &fd)) {
        return -1;
    }
    int copy = dup(fd);
    if (copy < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (self->fd >= 0) {
        close(self->fd);
    }
    self->fd = copy;
    self->open = 0;
    batch_clear(self);
    return 0;
}

static void batch_dealloc(Batch *self) {
    if (self->fd >= 0) {
        close(self->fd);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *batch_begin(Batch *self, PyObject *unused) {
    self->open = self->fd >= 0;
    Py_RETURN_NONE;
}

/* (host, port) of a destination, for Python to send what the socket did not take. */
static PyObject *destination(const struct sockaddr_storage *address) {
    char host[INET6_ADDRSTRLEN];
    const void *raw;
    int port;
    if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        raw = &v6->sin6_addr;
        port = ntohs(v6->sin6_port);
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        raw = &v4->sin_addr;
        port = ntohs(v4->sin_port);
    }
    if (inet_ntop(address->ss_family, raw, host, sizeof host) == NULL) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(si)", host, port);
}

static PyObject *batch_flush(Batch *self, PyObject *unused) {
    self->open = 0;
    batch_send(self);
    if (self->count == 0) {
        Py_RETURN_NONE;
    }
    PyObject *unsent = PyList_New(self->count);
    for (unsigned int i = 0; unsent != NULL && i < self->count; i++) {
        PyObject *to = destination(&self->addresses[i]);
        PyObject *item = to == NULL ? NULL : Py_BuildValue("(y#N)", (const char *)self->datagrams[i],
                                                           (Py_ssize_t)self->vectors[i].iov_len, to);
        if (item == NULL) {
            Py_CLEAR(unsent);
        } else {
            PyList_SET_ITEM(unsent, i, item);
        }
    }
    batch_clear(self);
    return unsent;
}

static PyObject *batch_pending(Batch *self, PyObject *unused) {
    return PyLong_FromUnsignedLong(self->count);
}

static PyObject *batch_close(Batch *self, PyObject *unused) {
    batch_clear(self);
    self->open = 0;
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    Py_RETURN_NONE;
}

static PyMethodDef batch_methods[] = {
    {"begin", (PyCFunction)batch_begin, METH_NOARGS, "begin(): Outlets aimed with this batch queue here from now."},
    {"flush", (PyCFunction)batch_flush, METH_NOARGS,
     "flush(): stop queueing and sendmmsg what was queued; None when all went, else [(datagram, (host, port))] "
     "of those the socket did not take."},
    {"pending", (PyCFunction)batch_pending, METH_NOARGS, "pending(): how many datagrams wait for the flush."},
    {"close", (PyCFunction)batch_close, METH_NOARGS, "close(): drop what waits and let go of the socket."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "weir.sfu.rtc._srtpsend.Batch",
    .tp_doc = "Batch(fd): SRTP datagrams to many destinations, sent on one socket with one sendmmsg.",
    .tp_basicsize = sizeof(Batch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = batch_new,
    .tp_init = (initproc)batch_init,
    .tp_dealloc = (destructor)batch_dealloc,
    .tp_methods = batch_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "weir.sfu.rtc._srtpsend",
    .m_doc = "SRTP protect and sendto in one call (weir.sfu.rtc.srtpsend).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__srtpsend(void) {
    if (PyType_Ready(&OutletType) < 0 || PyType_Ready(&BatchType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Outlet", (PyObject *)&OutletType) < 0
        || PyModule_AddObjectRef(m, "Batch", (PyObject *)&BatchType) < 0
        || PyModule_AddIntConstant(m, "BATCH_SIZE", BATCH_SIZE) < 0
        || PyModule_AddIntConstant(m, "MAX_PACKET", MAX_DATAGRAM - MAX_TRAILER) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
