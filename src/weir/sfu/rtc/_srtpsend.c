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
 *
 * ``fan_out`` (below) is one inbound packet's whole fan-out in one call: the common case's down-tracks are
 * written, stamped, protected and queued here, each straight into its datagram (weir.sfu.rtc.lanes).
 */
#define _GNU_SOURCE /* sendmmsg */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX: how a __slots__ member is stored */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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

static void batch_send(Batch *self);

/* Where ``self``'s next datagram is built: a free slot of its open batch (``*batched`` set), else ``scratch``. A
 * full batch is sent first; if the socket takes none of it now, the datagram goes on its own (``scratch``). */
static unsigned char *outlet_buffer(Outlet *self, unsigned char *scratch, int *batched) {
    Batch *batch = self->batch;
    *batched = 0;
    if (batch != NULL && batch->open && batch->fd >= 0) {
        if (batch->count == BATCH_SIZE) {
            batch_send(batch);
        }
        if (batch->count < BATCH_SIZE) {
            *batched = 1;
            return batch->datagrams[batch->count];
        }
    }
    return scratch;
}

/* Protect the ``*length`` bytes of RTP built at ``datagram`` (from ``outlet_buffer``) in place, then queue them in
 * the batch or send them: 0 when queued or sent, 1 when the socket did not take them (``datagram`` holds the
 * protected datagram, ``*length`` its length), -1 with an error when libsrtp refused the packet. */
static int outlet_finish(Outlet *self, unsigned char *datagram, int batched, int *length) {
    int status = self->protect(self->session, datagram, length);
    if (status != 0) {
        PyErr_Format(PyExc_ValueError, "srtp_protect failed with status %d", status);
        return -1;
    }
    if (batched) {
        Batch *batch = self->batch;
        unsigned int i = batch->count;
        memcpy(&batch->addresses[i], &self->address, self->address_length);
        batch->vectors[i].iov_len = (size_t)*length;
        batch->messages[i].msg_hdr.msg_namelen = self->address_length;
        batch->count = i + 1;
        return 0;
    }
    if (sendto(self->fd, datagram, (size_t)*length, 0, (struct sockaddr *)&self->address,
               self->address_length) == *length) {
        return 0;
    }
    return 1; /* would block (a full send buffer) or failed: the caller hands it to the socket's own transport */
}

static PyObject *outlet_send(Outlet *self, PyObject *packet) {
    if (self->fd < 0) {
        PyErr_SetString(PyExc_RuntimeError, "the Outlet is not aimed at a socket");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(packet, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (view.len > MAX_DATAGRAM - MAX_TRAILER) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }
    unsigned char scratch[MAX_DATAGRAM];
    int batched, length = (int)view.len;
    unsigned char *datagram = outlet_buffer(self, scratch, &batched);
    memcpy(datagram, view.buf, (size_t)length);
    PyBuffer_Release(&view);
    int unsent = outlet_finish(self, datagram, batched, &length);
    if (unsent < 0) {
        return NULL;
    }
    if (unsent == 0) {
        Py_RETURN_NONE;
    }
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

/* ---- The fan-out: one inbound packet to every down-track of its layer, in one call ----
 *
 * ``fan_out(packet, members)`` does, for each down-track of the common case, what ``DownTrack.write`` and the
 * sink chain behind it do in Python (weir.sfu.rtc.lanes), and calls ``member.write(packet)`` for every other
 * member. The state stays in the Python objects: their slots are read and written here through the offsets of
 * their member descriptors, resolved once by ``configure``, so the Python path always finds the truth. The
 * common case: the packet is of the forwarder's current layer and above the munger's highest (in order), no
 * RED blocks to rewrite (VP8's ids are rewritten here, as ``downtrack.rewrite_vp8`` does), the sink is an ``ExtensionSink`` (or none) sending through a connected
 * ``MediaDtls`` whose ``NativeSender`` is aimed at the ICE link's nominated pair. Every check is made before
 * anything is written, so a member that fails one goes the Python way untouched. */


enum {
    DT_FORWARDER, DT_REWRITE, DT_SEQUENCER, DT_SEND_FORWARDED, DT_SINK, DT_SSRC, DT_PAYLOAD_TYPE, DT_PACKETS_SENT,
    DT_OCTETS_SENT, FW_CURRENT, FW_MUNGER, MU_LAST, MU_LAST_SEQ, MU_SEGMENT, SG_SEQ_OFFSET, SG_TS_OFFSET,
    SG_PID_OFFSET, SG_TL0_OFFSET, SQ_KEYS, SQ_MASK, SQ_SEGMENTS, ES_ABS, ES_NOW_NS, ES_SEND, ES_SEQ, ES_HISTORY,
    SH_MASK, SH_NEXT_SEQ, SH_SENT_NS, SH_SIZES, NS_AIMED, NS_LINK, NS_OUTLET, IP_FRAME, IP_PAYLOAD_SIZE, IP_LAYER,
    IP_EXT_SEQ, IP_EXT_TS, IP_MARKER, IP_EXT_PID, IP_PID_OFFSET, IP_PID_BITS, IP_EXT_TL0, IP_TL0_OFFSET,
    DL_SENDER, DL_RTP_SENT, DL_RTP_DROPPED, SLOT_COUNT
};

enum {
    T_DOWNTRACK, T_FORWARDER, T_MUNGER, T_SEGMENT, T_SEQUENCER, T_SINK, T_HISTORY, T_SENDER, T_PACKET, T_DTLS, T_COUNT
};

static const struct { int type; const char *name; } slot_names[SLOT_COUNT] = {
    [DT_FORWARDER] = {T_DOWNTRACK, "forwarder"}, [DT_REWRITE] = {T_DOWNTRACK, "_rewrite"},
    [DT_SEQUENCER] = {T_DOWNTRACK, "_sequencer"}, [DT_SEND_FORWARDED] = {T_DOWNTRACK, "_send_forwarded"},
    [DT_SINK] = {T_DOWNTRACK, "_sink"}, [DT_SSRC] = {T_DOWNTRACK, "_ssrc"},
    [DT_PAYLOAD_TYPE] = {T_DOWNTRACK, "_payload_type"}, [DT_PACKETS_SENT] = {T_DOWNTRACK, "packets_sent"},
    [DT_OCTETS_SENT] = {T_DOWNTRACK, "octets_sent"}, [FW_CURRENT] = {T_FORWARDER, "current"},
    [FW_MUNGER] = {T_FORWARDER, "_munger"}, [MU_LAST] = {T_MUNGER, "_last"},
    [MU_LAST_SEQ] = {T_MUNGER, "_last_seq"}, [MU_SEGMENT] = {T_MUNGER, "segment"},
    [SG_SEQ_OFFSET] = {T_SEGMENT, "seq_offset"}, [SG_TS_OFFSET] = {T_SEGMENT, "ts_offset"},
    [SG_PID_OFFSET] = {T_SEGMENT, "pid_offset"}, [SG_TL0_OFFSET] = {T_SEGMENT, "tl0_offset"},
    [SQ_KEYS] = {T_SEQUENCER, "_keys"}, [SQ_MASK] = {T_SEQUENCER, "_mask"},
    [SQ_SEGMENTS] = {T_SEQUENCER, "_segments"}, [ES_ABS] = {T_SINK, "_abs"}, [ES_NOW_NS] = {T_SINK, "_now_ns"},
    [ES_SEND] = {T_SINK, "_send"}, [ES_SEQ] = {T_SINK, "_seq"}, [ES_HISTORY] = {T_SINK, "history"},
    [SH_MASK] = {T_HISTORY, "mask"}, [SH_NEXT_SEQ] = {T_HISTORY, "next_seq"},
    [SH_SENT_NS] = {T_HISTORY, "sent_ns"}, [SH_SIZES] = {T_HISTORY, "sizes"}, [NS_AIMED] = {T_SENDER, "_aimed"},
    [NS_LINK] = {T_SENDER, "_link"}, [NS_OUTLET] = {T_SENDER, "_outlet"}, [IP_FRAME] = {T_PACKET, "frame"},
    [IP_PAYLOAD_SIZE] = {T_PACKET, "payload_size"}, [IP_LAYER] = {T_PACKET, "layer"},
    [IP_EXT_SEQ] = {T_PACKET, "ext_seq"}, [IP_EXT_TS] = {T_PACKET, "ext_ts"}, [IP_MARKER] = {T_PACKET, "marker"},
    [IP_EXT_PID] = {T_PACKET, "ext_pid"}, [IP_PID_OFFSET] = {T_PACKET, "pid_offset"},
    [IP_PID_BITS] = {T_PACKET, "pid_bits"}, [IP_EXT_TL0] = {T_PACKET, "ext_tl0"},
    [IP_TL0_OFFSET] = {T_PACKET, "tl0_offset"}, [DL_SENDER] = {T_DTLS, "_sender"},
    [DL_RTP_SENT] = {T_DTLS, "rtp_sent"}, [DL_RTP_DROPPED] = {T_DTLS, "rtp_dropped"},
};

static const char *type_names[T_COUNT] = {"downtrack", "forwarder", "munger", "segment", "sequencer", "sink",
                                          "history", "sender", "packet", "dtls"};

static struct {
    int ready;
    PyTypeObject *types[T_COUNT];
    Py_ssize_t offsets[SLOT_COUNT];
    PyObject *send_forwarded; /* ExtensionSink.send_forwarded, the function */
    PyObject *send_rtp;       /* MediaDtls.send_rtp, the function */
    PyObject *rewrite_vp8;    /* downtrack.rewrite_vp8: VP8's picture id and TL0PICIDX, done here as there */
    PyObject *connected;      /* aiortc's State.CONNECTED */
    PyObject *monotonic_ns;   /* time.monotonic_ns: read here with clock_gettime */
    PyObject *component;      /* the RTP component's number, the key of the nominated pair */
    PyObject *s_write, *s_state, *s_connection, *s_nominated;
} lanes;

#define SLOT(object, index) (*(PyObject **)((char *)(object) + lanes.offsets[index]))
#define HEADROOM 24           /* packet.HEADROOM: where the payload starts in an InboundPacket's frame */
#define ONE_BYTE_PROFILE 0xBEDE
#define NS_PER_SECOND 1000000000LL

static PyObject *lanes_configure(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"downtrack", "forwarder", "munger", "segment", "sequencer", "sink", "history",
                               "sender", "packet", "dtls", "send_forwarded", "send_rtp", "rewrite_vp8", "connected",
                               "monotonic_ns", "component", "nominated", NULL};
    PyObject *types[T_COUNT], *functions[6], *nominated;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!O!O!O!O!O!O!O!OOOOOOU", keywords, &PyType_Type, &types[0],
                                     &PyType_Type, &types[1], &PyType_Type, &types[2], &PyType_Type, &types[3],
                                     &PyType_Type, &types[4], &PyType_Type, &types[5], &PyType_Type, &types[6],
                                     &PyType_Type, &types[7], &PyType_Type, &types[8], &PyType_Type, &types[9],
                                     &functions[0],
                                     &functions[1], &functions[2], &functions[3], &functions[4], &functions[5],
                                     &nominated)) {
        return NULL;
    }
    for (int i = 0; i < SLOT_COUNT; i++) {
        PyObject *descriptor = PyObject_GetAttrString(types[slot_names[i].type], slot_names[i].name);
        if (descriptor == NULL) {
            return NULL;
        }
        int slot = Py_IS_TYPE(descriptor, &PyMemberDescr_Type)
                   && ((PyMemberDescrObject *)descriptor)->d_member->type == T_OBJECT_EX;
        Py_ssize_t offset = slot ? ((PyMemberDescrObject *)descriptor)->d_member->offset : -1;
        Py_DECREF(descriptor);
        if (!slot) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type_names[slot_names[i].type], slot_names[i].name);
            return NULL;
        }
        lanes.offsets[i] = offset;
    }
    for (int i = 0; i < T_COUNT; i++) {
        Py_INCREF(types[i]);
        Py_XSETREF(lanes.types[i], (PyTypeObject *)types[i]);
    }
    PyObject **kept[6] = {&lanes.send_forwarded, &lanes.send_rtp, &lanes.rewrite_vp8, &lanes.connected,
                          &lanes.monotonic_ns, &lanes.component};
    for (int i = 0; i < 6; i++) {
        Py_INCREF(functions[i]);
        Py_XSETREF(*kept[i], functions[i]);
    }
    Py_INCREF(nominated);
    PyUnicode_InternInPlace(&nominated);
    Py_XSETREF(lanes.s_nominated, nominated); /* aioice's member, named by weir.rtc.aiortc_adapter */
    lanes.ready = 1;
    Py_RETURN_NONE;
}

/* An int slot's value into ``*value``; 0 when it is not an int that fits (no error left set). */
static int read_int(PyObject *object, long long *value) {
    if (object == NULL || !PyLong_CheckExact(object)) {
        return 0;
    }
    int overflow;
    *value = PyLong_AsLongLongAndOverflow(object, &overflow);
    return !overflow && !(*value == -1 && PyErr_Occurred());
}

/* Replace an int slot's value; -1 with an error. */
static int write_int(PyObject *object, int index, long long value) {
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL) {
        return -1;
    }
    Py_XSETREF(SLOT(object, index), number);
    return 0;
}

typedef struct {
    const unsigned char *payload;
    long long payload_size, layer, ext_seq, ext_ts, marker;
    long long ext_pid, pid_offset, pid_bits, ext_tl0, tl0_offset; /* VP8's ids and where they are in the frame */
    int vp8_ids; /* those were read, and each offset lies in the payload */
    PyObject *ext_seq_object;
} Inbound;

/* ``codecs.vp8.write_ids`` of ``downtrack.rewrite_vp8``, on a payload copied to ``payload``: the picture id (its
 * width kept) and TL0PICIDX in the subscriber's numbering, each where the packet has one. */
static void rewrite_vp8(unsigned char *payload, const Inbound *in, long long pid_offset, long long tl0_offset) {
    if (in->pid_offset >= 0) {
        long long pid = in->ext_pid - pid_offset;
        if (in->pid_bits == 15) {
            payload[in->pid_offset - HEADROOM] = (unsigned char)(0x80 | (pid >> 8 & 0x7F));
            payload[in->pid_offset - HEADROOM + 1] = (unsigned char)(pid & 0xFF);
        } else {
            payload[in->pid_offset - HEADROOM] = (unsigned char)(pid & 0x7F);
        }
    }
    if (in->tl0_offset >= 0) {
        payload[in->tl0_offset - HEADROOM] = (unsigned char)((in->ext_tl0 - tl0_offset) & 0xFF);
    }
}

/* The connected transport behind ``send`` (a bound ``MediaDtls.send_rtp``) and its NativeSender, when that is
 * aimed at the ICE link's nominated pair: 1 with borrowed ``*dtls`` and ``*sender``, 0 when not, -1 on error. */
static int native_route(PyObject *send, PyObject **dtls, PyObject **sender) {
    if (send == NULL || !PyMethod_Check(send) || PyMethod_GET_FUNCTION(send) != lanes.send_rtp
        || !PyObject_TypeCheck(PyMethod_GET_SELF(send), lanes.types[T_DTLS])) {
        return 0;
    }
    *dtls = PyMethod_GET_SELF(send);
    PyObject *native = SLOT(*dtls, DL_SENDER);
    if (native == NULL || !Py_IS_TYPE(native, lanes.types[T_SENDER])) {
        return 0;
    }
    PyObject *aimed = SLOT(native, NS_AIMED), *link = SLOT(native, NS_LINK), *outlet = SLOT(native, NS_OUTLET);
    if (aimed == NULL || aimed == Py_None || link == NULL || outlet == NULL || !Py_IS_TYPE(outlet, &OutletType)
        || ((Outlet *)outlet)->fd < 0) {
        return 0;
    }
    PyObject *state = PyObject_GetAttr(*dtls, lanes.s_state); /* aiortc's, in the instance dict */
    if (state == NULL) {
        return -1;
    }
    Py_DECREF(state); /* an enum member, held by its class */
    if (state != lanes.connected) {
        return 0;
    }
    PyObject *connection = PyObject_GetAttr(link, lanes.s_connection);
    if (connection == NULL) {
        return -1;
    }
    PyObject *nominated = PyObject_GetAttr(connection, lanes.s_nominated);
    Py_DECREF(connection);
    if (nominated == NULL) {
        PyErr_Clear(); /* the Python path reports a changed aioice */
        return 0;
    }
    PyObject *pair = PyDict_CheckExact(nominated) ? PyDict_GetItemWithError(nominated, lanes.component) : NULL;
    Py_DECREF(nominated);
    if (pair == NULL && PyErr_Occurred()) {
        return -1;
    }
    *sender = native;
    return pair == aimed; /* not yet aimed at a renominated pair, or none nominated: Python's ``send`` decides */
}

/* A writable array's buffer of ``itemsize``-byte items, at least ``items`` long; 0 when not. */
static int array_buffer(PyObject *array, Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t items) {
    if (array == NULL || PyObject_GetBuffer(array, view, PyBUF_WRITABLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    if (view->itemsize != itemsize || view->len < itemsize * items) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* ``downtrack.write(packet)`` for a down-track of the common case: 1 when done, 0 when it is not of the common
 * case (nothing touched), -1 with an error. */
static int lane_write(PyObject *downtrack, const Inbound *in, PyObject *packet) {
    if (!Py_IS_TYPE(downtrack, lanes.types[T_DOWNTRACK])) {
        return 0;
    }
    PyObject *forwarder = SLOT(downtrack, DT_FORWARDER);
    long long current, last_seq;
    if (forwarder == NULL || !Py_IS_TYPE(forwarder, lanes.types[T_FORWARDER])
        || !read_int(SLOT(forwarder, FW_CURRENT), &current) || current != in->layer) {
        return 0;
    }
    PyObject *munger = SLOT(forwarder, FW_MUNGER);
    if (munger == NULL || !Py_IS_TYPE(munger, lanes.types[T_MUNGER])
        || !read_int(SLOT(munger, MU_LAST_SEQ), &last_seq) || in->ext_seq <= last_seq) {
        return 0; /* late: the munger looks its segment up */
    }
    PyObject *segment = SLOT(munger, MU_SEGMENT);
    long long seq_offset, ts_offset, pid_offset, tl0_offset;
    if (segment == NULL || !Py_IS_TYPE(segment, lanes.types[T_SEGMENT])
        || !read_int(SLOT(segment, SG_SEQ_OFFSET), &seq_offset) || !read_int(SLOT(segment, SG_TS_OFFSET), &ts_offset)
        || !read_int(SLOT(segment, SG_PID_OFFSET), &pid_offset)
        || !read_int(SLOT(segment, SG_TL0_OFFSET), &tl0_offset)) {
        return 0;
    }
    PyObject *rewrite = SLOT(downtrack, DT_REWRITE);
    if (rewrite != Py_None && rewrite != lanes.rewrite_vp8) {
        return 0; /* RED blocks to rewrite */
    }
    int ids = rewrite == lanes.rewrite_vp8 && (pid_offset || tl0_offset); /* none while both offsets are 0 */
    if (ids && !in->vp8_ids) {
        return 0;
    }
    PyObject *sequencer = SLOT(downtrack, DT_SEQUENCER);
    long long mask, ssrc, payload_type, packets_sent, octets_sent;
    if (sequencer == NULL || !Py_IS_TYPE(sequencer, lanes.types[T_SEQUENCER])
        || !read_int(SLOT(sequencer, SQ_MASK), &mask) || !read_int(SLOT(downtrack, DT_SSRC), &ssrc)
        || !read_int(SLOT(downtrack, DT_PAYLOAD_TYPE), &payload_type)
        || !read_int(SLOT(downtrack, DT_PACKETS_SENT), &packets_sent)
        || !read_int(SLOT(downtrack, DT_OCTETS_SENT), &octets_sent) || payload_type < 0 || payload_type > 127
        || ssrc < 0 || ssrc > 0xFFFFFFFFLL) {
        return 0; /* the Python path's pack_into says what is wrong */
    }
    PyObject *keys = SLOT(sequencer, SQ_KEYS), *segments = SLOT(sequencer, SQ_SEGMENTS);
    if (keys == NULL || segments == NULL || !PyList_CheckExact(keys) || !PyList_CheckExact(segments) || mask < 0
        || PyList_GET_SIZE(keys) <= mask || PyList_GET_SIZE(segments) <= mask) {
        return 0;
    }
    /* the sink: an ExtensionSink's header extensions, or none */
    PyObject *forwarded = SLOT(downtrack, DT_SEND_FORWARDED), *sink = NULL, *history = Py_None, *send;
    long long abs_element = 0, seq_element = 0, history_mask = 0, next_seq = 0;
    if (forwarded == NULL) {
        return 0;
    }
    if (forwarded != Py_None) {
        if (!PyMethod_Check(forwarded) || PyMethod_GET_FUNCTION(forwarded) != lanes.send_forwarded) {
            return 0;
        }
        sink = PyMethod_GET_SELF(forwarded);
        if (!Py_IS_TYPE(sink, lanes.types[T_SINK]) || !read_int(SLOT(sink, ES_ABS), &abs_element)
            || !read_int(SLOT(sink, ES_SEQ), &seq_element) || SLOT(sink, ES_NOW_NS) == NULL) {
            return 0;
        }
        history = SLOT(sink, ES_HISTORY);
        send = SLOT(sink, ES_SEND);
        if (history == NULL) {
            return 0;
        }
        if (history != Py_None && (!Py_IS_TYPE(history, lanes.types[T_HISTORY])
                                   || !read_int(SLOT(history, SH_MASK), &history_mask)
                                   || !read_int(SLOT(history, SH_NEXT_SEQ), &next_seq) || history_mask < 0)) {
            return 0;
        }
    } else {
        send = SLOT(downtrack, DT_SINK);
    }
    PyObject *dtls, *sender;
    int routed = native_route(send, &dtls, &sender);
    if (routed <= 0) {
        return routed;
    }
    long long rtp_sent, rtp_dropped;
    if (!read_int(SLOT(dtls, DL_RTP_SENT), &rtp_sent) || !read_int(SLOT(dtls, DL_RTP_DROPPED), &rtp_dropped)) {
        return 0;
    }
    int stamped = history != Py_None, extension = stamped && abs_element ? 12 : stamped || abs_element ? 8 : 0;
    int length = 12 + extension + (int)in->payload_size;
    if (length > MAX_DATAGRAM - MAX_TRAILER) {
        return 0;
    }
    /* every check made: from here on the packet goes, as the Python path sends it */
    Py_buffer sent_ns = {0}, sizes = {0};
    if (stamped && (!array_buffer(SLOT(history, SH_SENT_NS), &sent_ns, 8, history_mask + 1)
                    || !array_buffer(SLOT(history, SH_SIZES), &sizes, sizeof(long), history_mask + 1))) {
        if (sent_ns.obj != NULL) {
            PyBuffer_Release(&sent_ns);
        }
        return 0;
    }
    int result = -1;
    Outlet *outlet = (Outlet *)SLOT(sender, NS_OUTLET);
    PyObject *held[] = {downtrack, sink == NULL ? Py_None : sink, munger, segment, keys, segments, history, dtls,
                        sender, (PyObject *)outlet};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
        Py_INCREF(held[i]); /* across the clock's call, which may run Python */
    }
    long long now = 0;
    if (sink != NULL && (stamped || abs_element)) {
        PyObject *clock = SLOT(sink, ES_NOW_NS);
        if (clock == lanes.monotonic_ns) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            now = (long long)ts.tv_sec * NS_PER_SECOND + ts.tv_nsec;
        } else {
            PyObject *value = PyObject_CallNoArgs(clock);
            int ok = value != NULL && read_int(value, &now) && now >= 0;
            Py_XDECREF(value);
            if (!ok) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_ValueError, "an ExtensionSink's clock gave no time in ns");
                }
                goto done;
            }
        }
    }
    Py_INCREF(packet);
    Py_XSETREF(SLOT(munger, MU_LAST), packet);
    Py_INCREF(in->ext_seq_object);
    Py_XSETREF(SLOT(munger, MU_LAST_SEQ), in->ext_seq_object);
    long long out_seq = in->ext_seq - seq_offset, out_ts = in->ext_ts - ts_offset;
    PyObject *key = PyLong_FromLongLong(out_seq);
    if (key == NULL) {
        goto done;
    }
    PyList_SetItem(keys, (Py_ssize_t)(out_seq & mask), key);
    Py_INCREF(segment);
    PyList_SetItem(segments, (Py_ssize_t)(out_seq & mask), segment);
    if (write_int(downtrack, DT_PACKETS_SENT, packets_sent + 1) < 0
        || write_int(downtrack, DT_OCTETS_SENT, octets_sent + in->payload_size) < 0) {
        goto done;
    }
    unsigned char scratch[MAX_DATAGRAM];
    int batched;
    unsigned char *d = outlet_buffer(outlet, scratch, &batched);
    uint16_t seq16 = htons((uint16_t)out_seq);
    uint32_t ts32 = htonl((uint32_t)out_ts), ssrc32 = htonl((uint32_t)ssrc);
    d[0] = extension ? 0x90 : 0x80;
    d[1] = (unsigned char)(in->marker | payload_type);
    memcpy(d + 2, &seq16, 2);
    memcpy(d + 4, &ts32, 4);
    memcpy(d + 8, &ssrc32, 4);
    if (extension) {
        uint32_t words[3];
        int n = 0;
        words[n++] = htonl((uint32_t)ONE_BYTE_PROFILE << 16 | (uint32_t)(extension / 4 - 1));
        if (abs_element) { /* 6.18 fixed-point seconds, as ExtensionSink computes them */
            long long fraction = now / NS_PER_SECOND * (1LL << 18) + (now % NS_PER_SECOND) * (1LL << 18) / NS_PER_SECOND;
            words[n++] = htonl((uint32_t)(abs_element | (fraction & 0xFFFFFF)));
        }
        if (stamped) {
            words[n++] = htonl((uint32_t)(seq_element | (next_seq & 0xFFFF) << 8));
            ((long long *)sent_ns.buf)[next_seq & history_mask] = now;
            ((long *)sizes.buf)[next_seq & history_mask] = length;
            if (write_int(history, SH_NEXT_SEQ, next_seq + 1) < 0) {
                goto done;
            }
        }
        memcpy(d + 12, words, (size_t)n * 4);
    }
    memcpy(d + 12 + extension, in->payload, (size_t)in->payload_size);
    if (ids) {
        rewrite_vp8(d + 12 + extension, in, pid_offset, tl0_offset);
    }
    int unsent = outlet_finish(outlet, d, batched, &length);
    if (unsent < 0) { /* libsrtp refused it: MediaDtls.send_rtp counts it dropped */
        PyErr_Clear();
        result = write_int(dtls, DL_RTP_DROPPED, rtp_dropped + 1) < 0 ? -1 : 1;
        goto done;
    }
    if (unsent > 0) {
        PyObject *spilled = PyObject_CallMethod(sender, "spill", "y#", (const char *)d, (Py_ssize_t)length);
        if (spilled == NULL) {
            goto done;
        }
        Py_DECREF(spilled);
    }
    result = write_int(dtls, DL_RTP_SENT, rtp_sent + 1) < 0 ? -1 : 1;
done:
    if (stamped) {
        PyBuffer_Release(&sent_ns);
        PyBuffer_Release(&sizes);
    }
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
        Py_DECREF(held[i]);
    }
    return result;
}

static PyObject *lanes_fan_out(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fan_out(packet, members): members is a tuple");
        return NULL;
    }
    if (!lanes.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fan_out before configure");
        return NULL;
    }
    PyObject *packet = args[0], *members = args[1];
    Inbound in;
    int fast = Py_IS_TYPE(packet, lanes.types[T_PACKET]);
    if (fast) {
        PyObject *frame = SLOT(packet, IP_FRAME);
        in.ext_seq_object = SLOT(packet, IP_EXT_SEQ);
        fast = frame != NULL && PyBytes_CheckExact(frame) && read_int(SLOT(packet, IP_PAYLOAD_SIZE), &in.payload_size)
               && read_int(SLOT(packet, IP_LAYER), &in.layer) && read_int(in.ext_seq_object, &in.ext_seq)
               && read_int(SLOT(packet, IP_EXT_TS), &in.ext_ts) && read_int(SLOT(packet, IP_MARKER), &in.marker)
               && in.payload_size > 0 && PyBytes_GET_SIZE(frame) == HEADROOM + in.payload_size
               && (in.marker == 0 || in.marker == 0x80);
        if (fast) {
            in.payload = (const unsigned char *)PyBytes_AS_STRING(frame) + HEADROOM;
            long long end = HEADROOM + in.payload_size;
            in.vp8_ids = read_int(SLOT(packet, IP_EXT_PID), &in.ext_pid)
                         && read_int(SLOT(packet, IP_PID_OFFSET), &in.pid_offset)
                         && read_int(SLOT(packet, IP_PID_BITS), &in.pid_bits)
                         && read_int(SLOT(packet, IP_EXT_TL0), &in.ext_tl0)
                         && read_int(SLOT(packet, IP_TL0_OFFSET), &in.tl0_offset)
                         && (in.pid_offset < 0 || (in.pid_offset >= HEADROOM && in.pid_offset + (in.pid_bits == 15 ? 2 : 1) <= end))
                         && (in.tl0_offset < 0 || (in.tl0_offset >= HEADROOM && in.tl0_offset < end));
        }
    }
    Py_INCREF(packet); /* a member's write may drop the last other reference */
    Py_INCREF(members);
    PyObject *result = Py_None;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(members); i++) {
        PyObject *member = PyTuple_GET_ITEM(members, i);
        int done = fast ? lane_write(member, &in, packet) : 0;
        if (done == 0) {
            PyObject *written = PyObject_CallMethodOneArg(member, lanes.s_write, packet);
            done = written == NULL ? -1 : 1;
            Py_XDECREF(written);
        }
        if (done < 0) {
            result = NULL;
            break;
        }
    }
    Py_DECREF(members);
    Py_DECREF(packet);
    Py_XINCREF(result);
    return result;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))lanes_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(**types and functions): the classes whose slots fan_out reads and writes (weir.sfu.rtc.lanes)."},
    {"fan_out", (PyCFunction)(void (*)(void))lanes_fan_out, METH_FASTCALL,
     "fan_out(packet, members): member.write(packet) for each member, the common case's down-tracks in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "weir.sfu.rtc._srtpsend",
    .m_doc = "SRTP protect and sendto in one call (weir.sfu.rtc.srtpsend), and the fan-out (weir.sfu.rtc.lanes).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__srtpsend(void) {
    if (PyType_Ready(&OutletType) < 0 || PyType_Ready(&BatchType) < 0) {
        return NULL;
    }
    struct { PyObject **name; const char *text; } names[] = {
        {&lanes.s_write, "write"}, {&lanes.s_state, "_state"}, {&lanes.s_connection, "connection"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].name = PyUnicode_InternFromString(names[i].text);
        if (*names[i].name == NULL) {
            return NULL;
        }
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Outlet", (PyObject *)&OutletType) < 0
        || PyModule_AddObjectRef(m, "Batch", (PyObject *)&BatchType) < 0
        || PyModule_AddIntConstant(m, "BATCH_SIZE", BATCH_SIZE) < 0
        || PyModule_AddIntConstant(m, "HEADROOM", HEADROOM) < 0
        || PyModule_AddIntConstant(m, "MAX_PACKET", MAX_DATAGRAM - MAX_TRAILER) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
