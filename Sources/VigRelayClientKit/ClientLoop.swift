import CLibWebSockets
import CLinuxIO
import Foundation
import VigRelayCore

/// How a `ClientLoop` sizes its lws context.
public struct ClientLoopOptions: Sendable, Equatable {
    /// Name of the lws thread (shows in `top -H` and debuggers).
    public var threadName: String
    /// Connections the context must hold at once. Up to 64 gets a small fd table; more makes lws size
    /// its tables by the process's open-file limit (`RLIMIT_NOFILE`, see `FileDescriptorLimit`), so it
    /// maps each fd to its connection directly instead of searching a short list.
    public var maxConnections: Int

    public init(threadName: String = "lws-client", maxConnections: Int = 64) {
        self.threadName = threadName
        self.maxConnections = maxConnections
    }
}

/// One lws client context and the dedicated thread that services it, with every connection it drives.
///
/// Thread: the lws thread (started by `init`, named `lws-client`) owns the context, `connections` and
/// `scratch`; C callbacks find this object through the context user pointer. Other threads only
/// append to the inbox or the set of connections to wake (guarded by `lock`) and wake the loop with
/// `lws_cancel_service`, which is gated off before the context is destroyed. Wake-ups name the
/// connection that has work, so a loop holding thousands of connections does not visit them all.
/// A wake-up may be for later (`wake(_:at:)`): the loop's alarm (a timerfd, `vr_alarm_t`) goes off
/// for the earliest, and the thread that asks sets it, so no other thread is woken on the way.
public final class ClientLoop: @unchecked Sendable {
    /// The relay every connection of this loop goes to.
    public let endpoint: ServerEndpoint
    /// Which server certificates connections accept.
    let trust: ClientTrust
    /// Largest WebSocket fragment written at once.
    static let fragmentSize = 256 << 10
    /// Bytes lws needs in front of every buffer passed to `lws_write`.
    let pre = Int(vr_lws_pre())

    private enum Command {
        case open(any LoopConnection)
        case stop
    }

    private let lock = NSLock()
    // Guarded by `lock`.
    private var inbox: [Command] = []
    private var pendingWakes: Set<UInt64> = []
    private var wakeEveryone = false
    private var wakeContext: OpaquePointer?
    private var lastID: UInt64 = 0
    /// Connections to wake later (slot: connection id), and when the alarm is set for (0: not set).
    private var timedWakes = WakeSchedule(slots: 0)
    private var alarmAt: UInt64 = 0
    /// Set while the thread runs.
    private var alarm: UnsafeMutablePointer<vr_alarm_t>?

    // lws thread only.
    private var context: OpaquePointer?
    private var connections: [UInt64: any LoopConnection] = [:]
    private var stopping = false
    /// One send buffer for the thread, with `pre` bytes in front; lws copies what it cannot send at once.
    let scratch: UnsafeMutableRawPointer
    /// Where WebSockets read received bytes into (`WebSocketClientConnection.readable`). lws thread.
    let receiveBuffer: UnsafeMutableRawPointer
    static let receiveBufferBytes = 64 << 10
    /// OpenSSL's read-ahead per WebSocket: one `read` takes up to this, a 64 KiB frame's records
    /// together, where OpenSSL otherwise reads a record's 5-byte header and then its body. (The relay
    /// reads through a BIO of its own, `vr_read_ahead_install`. Tried here too, in bench scenario 1
    /// the relay spent no less CPU per GB with it, 0.66-0.73 CPU-s against 0.61-0.71 in three
    /// alternated runs, so the load generator was left as it was.)
    static let readAheadBytes = 80 << 10
    /// The libev loop lws runs on, for the WebSockets' own read watchers; set while the thread runs.
    private(set) var eventLoop: OpaquePointer?
    /// The once-a-second tick (keepalive); lws keeps a pointer to it while the context lives.
    private let tickTimer: UnsafeMutablePointer<vr_timer_t>

    // Set up before the thread starts; freed after it ends (lws keeps pointers into them).
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName = strdup("vigrelay.v1")!
    private let caPath: UnsafeMutablePointer<CChar>?

    /// The lws thread's kernel thread id (for its CPU time in `/proc/self/task/TID/stat`); 0 until it runs.
    public var threadID: Int32 { started.current == true ? lwsThreadID : 0 }
    // Set on the lws thread before `started` is fulfilled, read after.
    private var lwsThreadID: Int32 = 0
    private let started = Latch<Bool>()
    private let finished = Latch<Bool>()
    private let options: ClientLoopOptions

    /// Creates the context on a new thread and waits until it runs.
    public init(endpoint: ServerEndpoint, trust: ClientTrust, options: ClientLoopOptions = ClientLoopOptions()) throws(ClientError) {
        self.endpoint = endpoint
        self.trust = trust
        self.options = options
        scratch = UnsafeMutableRawPointer.allocate(byteCount: Int(vr_lws_pre()) + Self.fragmentSize, alignment: 16)
        receiveBuffer = UnsafeMutableRawPointer.allocate(byteCount: Self.receiveBufferBytes, alignment: 16)
        tickTimer = UnsafeMutablePointer<vr_timer_t>.allocate(capacity: 1)
        tickTimer.initialize(to: vr_timer_t())
        if case .caFile(let path) = trust { caPath = strdup(path) } else { caPath = nil }
        protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(protocolName)
        protocols[0].callback = clientLoopCallback
        // lws allocates this per WebSocket for its own frame parser, which runs only until the
        // connection reads its socket itself (`WebSocketClientConnection`): keep it small.
        protocols[0].rx_buffer_size = 4 << 10
        protocols[0].tx_packet_size = Self.fragmentSize + 16
        tickTimer.pointee.user = Unmanaged.passUnretained(self).toOpaque()
        tickTimer.pointee.fire = { user in
            guard let user else { return }
            Unmanaged<ClientLoop>.fromOpaque(user).takeUnretainedValue().onTick()
        }
        let thread = Thread { [self] in
            _ = vr_name_thread(options.threadName)
            run()
        }
        thread.start()
        guard started.wait(until: Date().addingTimeInterval(10)) == true else {
            throw .tls(server: endpoint.description, detail: "libwebsockets could not create its TLS client context; run with --verbose for its log")
        }
    }

    deinit {
        scratch.deallocate()
        receiveBuffer.deallocate()
        tickTimer.deallocate()
        protocols.deallocate()
        free(protocolName)
        free(caPath)
    }

    /// Sets libwebsockets' own log level for the process (0: silent, 7: errors, warnings, notices).
    public static func setLibraryLogLevel(_ level: Int32) { vr_lws_set_log_level(level) }

    /// A fresh connection id (never 0, never reused). Any thread.
    func makeConnectionID() -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        lastID += 1
        return lastID
    }

    /// Hands a new connection to the lws thread, which starts it. Any thread.
    func open(_ connection: any LoopConnection) { post(.open(connection)) }

    /// Wakes the lws thread so every connection picks up queued work. Any thread.
    func wake() {
        lock.lock(); defer { lock.unlock() }
        wakeEveryone = true
        if let wakeContext { lws_cancel_service(wakeContext) }
    }

    /// Wakes the lws thread so connection `id` picks up queued work. Wake-ups that come before the
    /// loop drained the previous ones share one `lws_cancel_service`. Any thread.
    func wake(_ id: UInt64) {
        lock.lock(); defer { lock.unlock() }
        let idle = inbox.isEmpty && pendingWakes.isEmpty && !wakeEveryone
        pendingWakes.insert(id)
        if idle, let wakeContext { lws_cancel_service(wakeContext) }
    }

    /// Queues a message on connection `id`'s `transmit` without waiting (with `overLimit` even when it
    /// is full, otherwise `.stalled` then), held until `notBefore` (monotonic ns; 0: none), and wakes
    /// the loop for it: now, or by the alarm when it is due. Any thread.
    func enqueue(_ bytes: [UInt8], binary: Bool, overLimit: Bool, notBefore: UInt64 = 0,
                 on transmit: TransmitQueue, id: UInt64) -> TransmitQueue.PushOutcome {
        let outcome = overLimit ? transmit.push(bytes, binary: binary, waitUntil: nil, notBefore: notBefore)
                                : transmit.pushIfRoom(bytes, binary: binary, notBefore: notBefore)
        if outcome == .queued(wasEmpty: true) {
            if notBefore > 0 { wake(id, at: notBefore) } else { wake(id) }
        }
        return outcome
    }

    /// Wakes the lws thread when the monotonic clock reads `time` (ns) so connection `id` writes what
    /// was held until then (`TransmitQueue`'s `notBefore`). Any thread: the caller sets the loop's
    /// alarm itself when this is the earliest wake-up asked for, so the lws thread wakes only when
    /// one is due.
    func wake(_ id: UInt64, at time: UInt64) {
        lock.lock(); defer { lock.unlock() }
        guard let alarm else { return }  // the loop has stopped
        timedWakes.schedule(Int(id), at: time)
        if alarmAt == 0 || time < alarmAt {
            alarmAt = time
            _ = vr_alarm_set(alarm, time)
        }
    }

    /// The alarm went off: wakes the connections whose time has come and sets it for the next. lws thread.
    private func onAlarm() {
        lock.lock()
        let due = timedWakes.popDue(now: MonotonicClock.nanoseconds())
        alarmAt = timedWakes.nextTime() ?? 0
        if let alarm { _ = vr_alarm_set(alarm, alarmAt) }
        lock.unlock()
        for id in due { connections[UInt64(id)]?.wake() }
    }

    /// Stops the loop, destroys the context (closing what is still open) and waits for the thread.
    /// Any thread but the lws thread; safe to call twice.
    public func stop() {
        post(.stop)
        _ = finished.wait(until: Date().addingTimeInterval(10))
    }

    private func post(_ command: Command) {
        lock.lock(); defer { lock.unlock() }
        inbox.append(command)
        if let wakeContext { lws_cancel_service(wakeContext) }
    }

    // MARK: lws thread

    private func run() {
        lwsThreadID = vr_gettid()
        var info = lws_context_creation_info()
        info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        // 0: lws sizes its fd tables by RLIMIT_NOFILE and maps fds directly (one service thread).
        info.fd_limit_per_thread = options.maxConnections > 64 ? 0 : 64
        info.pt_serv_buf_size = 256 << 10
        info.timeout_secs = 10
        info.connect_timeout_secs = 10
        info.client_ssl_ca_filepath = UnsafePointer(caPath)
        // On libev's epoll, as the server (see its EventLoop): a load worker holds hundreds of sockets.
        guard let events = vr_ev_loop_new() else {
            started.fulfil(false)
            finished.fulfil(true)
            return
        }
        let fire: @convention(c) (UnsafeMutableRawPointer?) -> Void = { user in
            guard let user else { return }
            Unmanaged<ClientLoop>.fromOpaque(user).takeUnretainedValue().onAlarm()
        }
        guard let newAlarm = vr_alarm_new(events, Unmanaged.passUnretained(self).toOpaque(), fire) else {
            ev_loop_destroy(events)
            started.fulfil(false)
            finished.fulfil(true)
            return
        }
        guard let ctx = vr_lws_create_context_on_ev(&info, events) else {
            vr_alarm_free(events, newAlarm)
            ev_loop_destroy(events)
            started.fulfil(false)
            finished.fulfil(true)
            return
        }
        context = ctx
        eventLoop = events
        lock.lock()
        wakeContext = ctx
        alarm = newAlarm
        lock.unlock()
        started.fulfil(true)
        vr_timer_schedule(ctx, tickTimer, 1_000_000)
        while !stopping {
            vr_ev_run_once(events)
        }
        lock.lock()
        wakeContext = nil
        alarm = nil
        lock.unlock()
        for connection in connections.values { connection.abandon() }
        lws_context_destroy(ctx)
        vr_alarm_free(events, newAlarm)
        eventLoop = nil
        ev_loop_destroy(events)
        connections.removeAll()
        context = nil
        OpenSSLThread.stop()  // before anyone hears it ended: the process may exit right after
        finished.fulfil(true)
    }

    /// Takes every posted command and lets connections pick up queued work. lws thread.
    func drainInbox() {
        lock.lock()
        let commands = inbox
        let wakes = pendingWakes
        let everyone = wakeEveryone
        inbox.removeAll()
        pendingWakes.removeAll()
        wakeEveryone = false
        lock.unlock()
        for command in commands {
            switch command {
            case .open(let connection):
                guard !stopping, let context else {
                    connection.abandon()
                    continue
                }
                connections[connection.id] = connection
                connection.connect(context: context, loop: self)
            case .stop:
                stopping = true
            }
        }
        if everyone {
            for connection in connections.values { connection.wake() }
        } else {
            for id in wakes { connections[id]?.wake() }
        }
    }

    /// Once a second: every connection's keepalive. lws thread.
    private func onTick() {
        guard !stopping, let context else { return }
        let now = MonotonicClock.nanoseconds()
        for connection in connections.values { connection.tick(now: now) }
        vr_timer_schedule(context, tickTimer, 1_000_000)
    }

    /// The connection with this id, if it is still open. lws thread.
    func connection(_ id: UInt64) -> (any LoopConnection)? { connections[id] }

    /// Forgets a connection that ended. lws thread.
    func forget(_ id: UInt64) { connections[id] = nil }
}
