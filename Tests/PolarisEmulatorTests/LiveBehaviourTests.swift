import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

/// Every [INFERRED] live behaviour is a switch (`LiveBehaviour`), and each switch does what it
/// says, whether set at start, in process or over the admin API.
@Suite("Live behaviour switches")
struct LiveBehaviourTests {
    static func configuration(
        _ behaviour: LiveBehaviour, startDelay: Duration = .zero
    ) -> EmulatorConfiguration {
        var configuration = EmulatorHarness.configuration(startDelay: startDelay)
        configuration.behaviour = behaviour
        return configuration
    }

    // MARK: The switches themselves

    @Test func standardIsTheDefaultReading() {
        #expect(
            LiveBehaviour.standard
                == LiveBehaviour(
                    tableHeldStatus: 400, tableHeldMessage: nil, replacedJob: .canceled, healthSpelling: .warn,
                    resumeAnswer: .pending, retryAfter: .sent))
        #expect(EmulatorConfiguration().behaviour == .standard)
    }

    @Test func alternativesChangeOneSwitchEach() throws {
        let alternatives = LiveBehaviour.alternatives
        #expect(alternatives.count >= 5)
        #expect(Set(alternatives.map(\.name)).count == alternatives.count)
        #expect(Set(alternatives.map(\.behaviour)).count == alternatives.count)
        let standard = try #require(LiveBehaviour.standard.json.objectValue)
        var changed: Set<String> = []
        for (name, behaviour) in alternatives {
            let members = try #require(behaviour.json.objectValue)
            let differing = LiveBehaviour.keys.filter { members[$0] != standard[$0] }
            #expect(differing.count == 1, "\(name): \(differing)")
            #expect(name.hasPrefix(differing.first ?? "?"), "\(name)")
            changed.formUnion(differing)
        }
        // Every switch has at least one alternative, and every enum value appears.
        #expect(changed == Set(LiveBehaviour.keys))
        let all = alternatives.map(\.behaviour) + [.standard]
        #expect(Set(all.map(\.tableHeldStatus)) == Set(LiveBehaviour.tableHeldStatuses))
        #expect(Set(all.map(\.replacedJob)) == Set(LiveBehaviour.ReplacedJob.allCases))
        #expect(Set(all.map(\.healthSpelling)) == Set(HealthSpelling.allCases))
        #expect(Set(all.map(\.resumeAnswer)) == Set(LiveBehaviour.ResumeAnswer.allCases))
        #expect(Set(all.map(\.retryAfter)) == Set(LiveBehaviour.RetryAfterHeader.allCases))
    }

    @Test(arguments: LiveBehaviour.alternatives.map(\.behaviour) + [.standard])
    func codableRoundTripInTheAdminForm(_ behaviour: LiveBehaviour) throws {
        let data = try JSONEncoder().encode(behaviour)
        #expect(try JSONDecoder().decode(LiveBehaviour.self, from: data) == behaviour)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == behaviour.json)
        #expect(try LiveBehaviour.standard.applying(behaviour.json) == behaviour)
        // Missing keys take the standard reading.
        #expect(try JSONDecoder().decode(LiveBehaviour.self, from: Data("{}".utf8)) == .standard)
    }

    @Test func applyingChangesOnlyTheKeysGivenAndRejectsBadValues() throws {
        let start = LiveBehaviour(replacedJob: .failed, retryAfter: .omitted)
        let changed = try start.applying(json(#"{"tableHeldStatus":409,"resumeAnswer":"running","other":1}"#))
        #expect(
            changed
                == LiveBehaviour(
                    tableHeldStatus: 409, replacedJob: .failed, resumeAnswer: .running, retryAfter: .omitted))
        let bad: [(String, String)] = [
            (#"{"tableHeldStatus":410}"#, "tableHeldStatus"), (#"{"tableHeldStatus":"409"}"#, "tableHeldStatus"),
            (#"{"tableHeldMessage":""}"#, "tableHeldMessage"), (#"{"tableHeldMessage":3}"#, "tableHeldMessage"),
            (#"{"replacedJob":"superseded"}"#, "replacedJob"), (#"{"healthSpelling":"warnings"}"#, "healthSpelling"),
            (#"{"resumeAnswer":"idle"}"#, "resumeAnswer"), (#"{"retryAfter":true}"#, "retryAfter"),
        ]
        for (text, key) in bad {
            #expect(throws: EmulatorError.self, "\(text)") { try start.applying(json(text)) }
            do {
                _ = try start.applying(json(text))
            } catch {
                #expect(error.status == .badRequest && error.body["target"] == .string(key), "\(text)")
            }
        }
        // The CLI's text form: the status read as a number.
        let fromText = try LiveBehaviour.standard.applying(text: [
            "tableHeldStatus": "409", "replacedJob": "running-until-stopped", "tableHeldMessage": "busy",
        ])
        #expect(
            fromText == LiveBehaviour(tableHeldStatus: 409, tableHeldMessage: "busy", replacedJob: .runningUntilStopped)
        )
        #expect(
            fromText.differencesFromStandard
                == "tableHeldStatus=409 tableHeldMessage=busy replacedJob=running-until-stopped")
        #expect(LiveBehaviour.standard.differencesFromStandard == "")
        #expect(throws: EmulatorError.self) {
            try LiveBehaviour.standard.applying(text: ["tableHeldStatus": "four hundred"])
        }
    }

    @Test func healthSpellingStaysInTheConfigurationAndTheStore() async throws {
        var configuration = EmulatorConfiguration(healthSpelling: .warning)
        #expect(configuration.behaviour.healthSpelling == .warning)
        configuration.healthSpelling = .warn
        #expect(configuration.behaviour == .standard)
        let overridden = EmulatorConfiguration(healthSpelling: .warning, behaviour: LiveBehaviour(retryAfter: .omitted))
        #expect(overridden.behaviour == LiveBehaviour(healthSpelling: .warning, retryAfter: .omitted))
        let store = EmulatorStore(configuration: EmulatorConfiguration())
        await store.setHealthSpelling(.warning)
        #expect(await store.behaviour.healthSpelling == .warning)
    }

    // MARK: Each switch's effect

    @Test(arguments: LiveBehaviour.tableHeldStatuses)
    func tableHeldStatus(_ status: Int) async throws {
        try await EmulatorHarness.with(Self.configuration(LiveBehaviour(tableHeldStatus: status))) { harness in
            let holder = try await harness.createStreamingJob()
            let refused = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(refused.status == status, "\(refused.text)")
            #expect(refused.isErrorResponse)
            #expect(refused.json["code"]?.stringValue == (status == 409 ? "AlreadyExists" : "InvalidArgument"))
            #expect(refused.json["target"] == "target.tableName")
            #expect(refused.text.contains(holder.id))
        }
    }

    @Test func tableHeldMessage() async throws {
        let message = LiveBehaviour.unfamiliarTableHeldMessage
        try await EmulatorHarness.with(Self.configuration(LiveBehaviour(tableHeldMessage: message))) { harness in
            _ = try await harness.createStreamingJob()
            let refused = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(refused.status == 400)
            #expect(refused.json["message"]?.stringValue == message)
            // Back to the emulator's own wording.
            await harness.emulator.setBehaviour(.standard)
            let again = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(again.json["message"]?.stringValue?.hasPrefix("Table [orders] already has a streaming") == true)
        }
    }

    @Test func replacedJobFailed() async throws {
        try await EmulatorHarness.with(Self.configuration(LiveBehaviour(replacedJob: .failed))) { harness in
            let old = try await harness.createStreamingJob()
            let new = try await harness.createStreamingJob(extra: ["replaceRunning": true])
            let replaced = try await harness.send(.GET, "jobs/\(old.id)").decode(Job.self)
            #expect(replaced.executionStatus == .failed)
            #expect(replaced.health.status == .error && replaced.health.message?.contains(new.id) == true)
            #expect(new.executionStatus == .running)
            let refused = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(refused.status == 400 && refused.text.contains(new.id))  // the table is the new job's
        }
    }

    @Test func replacedJobRunningUntilStopped() async throws {
        let configuration = Self.configuration(
            LiveBehaviour(replacedJob: .runningUntilStopped), startDelay: .seconds(30))
        try await EmulatorHarness.with(configuration) { harness in
            let old = try await harness.createStreamingJob()
            await harness.emulator.advance(by: .seconds(31))
            #expect(await harness.emulator.job(id: old.id)?.executionStatus == .running)

            let new = try await harness.createStreamingJob(extra: ["replaceRunning": true])
            #expect(new.executionStatus == .pending)
            let stopping = try await harness.send(.GET, "jobs/\(old.id)").decode(Job.self)
            #expect(stopping.executionStatus == .running)
            #expect(stopping.desiredExecutionStatus == .canceled)
            let listed = try await harness.send(.GET, "jobs?executionStatus=running").decode(JobList.self)
            #expect(listed.values.map(\.id) == [old.id])
            // The table is the new job's already.
            let refused = try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob())
            #expect(refused.status == 400 && refused.text.contains(new.id))

            // (Wall time passes too, so leave a margin either side of the 30 s.)
            await harness.emulator.advance(by: .seconds(20))
            #expect(await harness.emulator.job(id: old.id)?.executionStatus == .running)
            await harness.emulator.advance(by: .seconds(11))
            let stopped = try await harness.send(.GET, "jobs/\(old.id)").decode(Job.self)
            #expect(stopped.executionStatus == .canceled)
            #expect(stopped.health.status == .error && stopped.health.code == "canceled")
            #expect(await harness.emulator.job(id: new.id)?.executionStatus == .running)
        }
    }

    @Test func aStoppingJobCanStillBeCanceled() async throws {
        let configuration = Self.configuration(
            LiveBehaviour(replacedJob: .runningUntilStopped), startDelay: .seconds(30))
        try await EmulatorHarness.with(configuration) { harness in
            let old = try await harness.createStreamingJob()
            _ = try await harness.createStreamingJob(extra: ["replaceRunning": true])
            let cancel = try await harness.send(
                .POST, "jobs/\(old.id)/status", json: json(#"{"desiredExecutionStatus":"canceled"}"#))
            #expect(try cancel.decode(JobStatusResponse.self).executionStatus == .canceled)
            await harness.emulator.advance(by: .seconds(60))
            #expect(await harness.emulator.job(id: old.id)?.executionStatus == .canceled)
        }
    }

    @Test(arguments: HealthSpelling.allCases)
    func healthSpelling(_ spelling: HealthSpelling) async throws {
        try await EmulatorHarness.with(Self.configuration(LiveBehaviour(healthSpelling: spelling))) { harness in
            let job = try await harness.createStreamingJob()
            try await harness.emulator.setHealth(
                jobID: job.id, JobHealth(status: .warn, code: "lost_connection_to_source"))
            let fetched = try await harness.send(.GET, "jobs/\(job.id)")
            #expect(fetched.json["health"]?["status"]?.stringValue == spelling.rawValue)
            let page = try await harness.send(.GET, "jobs")
            #expect(page.json["values"]?.arrayValue?.first?["health"]?["status"]?.stringValue == spelling.rawValue)
        }
    }

    @Test(arguments: LiveBehaviour.ResumeAnswer.allCases)
    func resumeAnswer(_ answer: LiveBehaviour.ResumeAnswer) async throws {
        let configuration = Self.configuration(LiveBehaviour(resumeAnswer: answer), startDelay: .seconds(30))
        try await EmulatorHarness.with(configuration) { harness in
            let job = try await harness.createStreamingJob()
            try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"suspended"}"#))
            let resumed = try await harness.send(
                .POST, "jobs/\(job.id)/status", json: json(#"{"desiredExecutionStatus":"running"}"#))
            let expected: ExecutionStatus = answer == .running ? .running : .pending
            #expect(try resumed.decode(JobStatusResponse.self).executionStatus == expected)
            let fetched = try await harness.send(.GET, "jobs/\(job.id)").decode(Job.self)
            #expect(fetched.executionStatus == expected)
            #expect((fetched.startedTimestamp != nil) == (answer == .running))  // never ran before
            await harness.emulator.advance(by: .seconds(31))
            #expect(await harness.emulator.job(id: job.id)?.executionStatus == .running)
        }
    }

    @Test(arguments: LiveBehaviour.RetryAfterHeader.allCases)
    func retryAfter(_ header: LiveBehaviour.RetryAfterHeader) async throws {
        try await EmulatorHarness.with(Self.configuration(LiveBehaviour(retryAfter: header))) { harness in
            try await harness.emulator.inject(.status(503, retryAfter: .seconds(7), count: 1, pathPrefix: "/jobs"))
            try await harness.emulator.inject(
                .status(429, retryAfter: .date(PolarisTimestamp(seconds: 1_445_412_480)), count: 1, pathPrefix: "/jobs")
            )
            let first = try await harness.send(.GET, "jobs")
            let second = try await harness.send(.GET, "jobs")
            #expect(first.status == 503 && second.status == 429)
            #expect(first.headers.first(name: "Retry-After") == (header == .sent ? "7" : nil))
            #expect(
                second.headers.first(name: "Retry-After") == (header == .sent ? "Wed, 21 Oct 2015 07:28:00 GMT" : nil))
            #expect(try await harness.send(.GET, "jobs").status == 200)
        }
    }

    // MARK: Admin API and in-process API

    @Test func adminSettingsSetEachKeyAndStateShowsThem() async throws {
        try await EmulatorHarness.with { harness in
            let state = try await harness.send(.GET, "/_emulator/state", auth: .none)
            #expect(state.json["behaviour"] == LiveBehaviour.standard.json)
            let all = json(
                #"{"tableHeldStatus":409,"tableHeldMessage":"busy","replacedJob":"running-until-stopped","resumeAnswer":"running","retryAfter":"omitted","healthSpelling":"warning","startDelayMilliseconds":5000}"#
            )
            let put = try await harness.send(.PUT, "/_emulator/settings", json: all, auth: .none)
            #expect(put.status == 200, "\(put.text)")
            let expected = LiveBehaviour(
                tableHeldStatus: 409, tableHeldMessage: "busy", replacedJob: .runningUntilStopped,
                healthSpelling: .warning, resumeAnswer: .running, retryAfter: .omitted)
            #expect(await harness.emulator.behaviour() == expected)
            let after = try await harness.send(.GET, "/_emulator/state", auth: .none).json
            #expect(after["behaviour"] == expected.json)
            #expect(after["healthSpelling"] == "warning")
            #expect(after["startDelayMilliseconds"] == 5000)

            // One bad key: a 400 naming it, and nothing changes (the start delay neither).
            let bad = try await harness.send(
                .PUT, "/_emulator/settings", json: json(#"{"startDelayMilliseconds":0,"resumeAnswer":"later"}"#),
                auth: .none)
            #expect(bad.status == 400 && bad.json["target"] == "resumeAnswer")
            let unchanged = try await harness.send(.GET, "/_emulator/state", auth: .none).json
            #expect(unchanged["behaviour"] == expected.json && unchanged["startDelayMilliseconds"] == 5000)

            // Partial updates keep the rest; null clears the message.
            let partial = try await harness.send(
                .PUT, "/_emulator/settings", json: json(#"{"tableHeldMessage":null,"retryAfter":"sent"}"#), auth: .none)
            #expect(partial.status == 200)
            var now = expected
            now.tableHeldMessage = nil
            now.retryAfter = .sent
            #expect(await harness.emulator.behaviour() == now)
            #expect(partial.json["behaviour"] == now.json)
        }
    }

    @Test func theSettingsTakeEffectOverHTTP() async throws {
        try await EmulatorHarness.with { harness in
            _ = try await harness.createStreamingJob()
            try await harness.send(.PUT, "/_emulator/settings", json: json(#"{"tableHeldStatus":409}"#), auth: .none)
            #expect(try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob()).status == 409)
            await harness.emulator.setBehaviour(.standard)
            #expect(try await harness.send(.POST, "jobs", json: EmulatorHarness.streamingJob()).status == 400)
        }
    }
}
