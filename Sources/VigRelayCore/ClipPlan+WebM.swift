/// The patches a clip of a WebM part needs.
extension ClipPlan {
    /// Overwrites a WebM init segment for a clip: the Segment's size (`WebMScanner.segmentSizeField`)
    /// with an unknown size of the same length, or players take the clip for a truncated file, and
    /// Info/Duration (`WebMScanner.durationElement`) with a Void element of the same length, or players
    /// show the whole recording's length. MediaRecorder's unknown-size Segments need neither.
    /// Throws `inconsistentIndex` when a field has a length no replacement fits.
    public static func webMPatches(segmentSizeField: Range<Int64>?, durationElement: Range<Int64>?) throws(ClipPlanError) -> [Patch] {
        var patches: [Patch] = []
        let fields = [
            ("Segment size", segmentSizeField, WebMScanner.unknownSizeField(length:)),
            ("Info/Duration", durationElement, WebMScanner.voidElement(length:)),
        ]
        for (name, field, replacement) in fields {
            guard let field else { continue }
            guard let bytes = replacement(Int(field.upperBound - field.lowerBound)) else {
                throw .inconsistentIndex("\(name) at bytes \(field) has a length that cannot be overwritten")
            }
            patches.append(Patch(offset: field.lowerBound, bytes: bytes))
        }
        return patches
    }
}
