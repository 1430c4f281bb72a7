/// Errors of the storage layer; each says what happened and what to do.
public enum StorageError: Error, CustomStringConvertible {
    case cannotCreateDirectory(path: String, reason: String)
    case secretUnreadable(path: String, reason: String)
    case secretTooShort(path: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create data directory \(path): \(reason); pass --data-dir with a writable directory"
        case .secretUnreadable(let path, let reason):
            return "cannot read the token secret at \(path): \(reason); check the file or remove it to make a new one (existing tokens then stop working)"
        case .secretTooShort(let path):
            return "the token secret at \(path) is shorter than 32 bytes; write at least 32 random bytes there (e.g. openssl rand -hex 32 > \(path))"
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason)"
        }
    }
}
