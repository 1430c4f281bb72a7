import Testing
import VigRelayCore

/// The head of a download for each kind of Range (MediaAnswer.swift), and the refusals'
/// statuses and codes (RecordingRequestError.swift).
struct MediaAnswerTests {
    @Test func noRangeIsTheWholeFileWithAcceptRanges() {
        #expect(MediaAnswer(range: nil, length: 1234, contentType: "video/webm")
                == .stream(MediaHead(status: 200, contentType: "video/webm", body: 0..<1234, headers: ["accept-ranges": "bytes"])))
    }

    @Test(arguments: [("bytes=0-99", 0..<100), ("bytes=100-", 100..<1234), ("bytes=-100", 1134..<1234), ("bytes=1200-5000", 1200..<1234)])
    func oneRangeIsA206WithContentRange(header: String, bytes: Range<Int64>) {
        guard case .stream(let head) = MediaAnswer(range: header, length: 1234, contentType: "video/mp4") else {
            Issue.record("expected a stream")
            return
        }
        #expect(head.status == 206)
        #expect(head.body == bytes)
        #expect(head.contentLength == Int64(bytes.count))
        #expect(head.headers == ["accept-ranges": "bytes", "content-range": "bytes \(bytes.lowerBound)-\(bytes.upperBound - 1)/1234"])
    }

    @Test func aRangePastTheEndIs416WithTheLength() throws {
        guard case .respond(let r) = MediaAnswer(range: "bytes=1234-", length: 1234, contentType: "video/webm") else {
            Issue.record("expected a 416")
            return
        }
        #expect(r.status == 416)
        #expect(r.headers["content-range"] == "bytes */1234")
        let body = try #require(jsonObject(r.body))
        #expect(body["code"] as? String == "range_not_satisfiable")
        #expect((body["message"] as? String)?.contains("0-1233") == true)
    }

    @Test func anEmptyFileIsAnEmpty200() {
        #expect(MediaAnswer(range: nil, length: 0, contentType: "video/webm")
                == .stream(MediaHead(status: 200, contentType: "video/webm", body: 0..<0, headers: ["accept-ranges": "bytes"])))
    }

    @Test func refusalsHaveTheirStatusAndCode() throws {
        let cases: [(RecordingRequestError, Int, String)] = [
            (.recordingNotFound, 404, "recording_not_found"),
            (.clipNotFound, 404, "clip_not_found"),
            (.recordingInProgress(recordingID: "00112233445566aa"), 409, "recording_in_progress"),
            (.notCuttable(mediaType: "application/octet-stream", reason: nil), 400, "invalid_request"),
            (.notCuttable(mediaType: "video/mp4", reason: "its fragments use absolute offsets"), 400, "invalid_request"),
            (.crossesPartBoundary(fromMs: 10000, toMs: 12000, nextPartStartMs: 11000), 400, "invalid_request"),
            (.invalidSpan(.tooLong(fromMs: 0, toMs: 61000, maxSpanMs: 60000)), 400, "invalid_request"),
            (.invalidSpan(.inconsistentIndex("x")), 500, "internal_error"),
            (.unreadable("gone"), 500, "internal_error"),
        ]
        for (error, status, code) in cases {
            #expect(error.response.status == status, "\(error)")
            let body = try #require(jsonObject(error.response.body))
            #expect(body["code"] as? String == code, "\(error)")
            #expect((body["message"] as? String)?.isEmpty == false)
        }
        #expect(String(decoding: RecordingRequestError.notCuttable(mediaType: "application/octet-stream", reason: nil).response.body,
                       as: UTF8.self).contains("WebM or fragmented MP4"))
        #expect(String(decoding: RecordingRequestError.notCuttable(mediaType: "video/mp4", reason: "its fragments use absolute offsets").response.body,
                       as: UTF8.self).contains("its fragments use absolute offsets; download the whole recording"))
        #expect(String(decoding: RecordingRequestError.recordingInProgress(recordingID: "a").response.body, as: UTF8.self)
                .contains("stop the recording first"))
        let span = String(decoding: RecordingRequestError.invalidSpan(.negative(fromMs: -1, toMs: 5)).response.body, as: UTF8.self)
        #expect(span.contains(ClipPlanError.negative(fromMs: -1, toMs: 5).description), "ClipPlanError's own message")
    }
}
