import Foundation
import PolarisAPI
import PolarisEmulator
import Testing

@Suite("GET /jobs: filters, sorting, pagination")
struct JobListTests {
    /// Three tables on two connections: a running job, a suspended one, a warn-health one.
    private func populate(_ harness: EmulatorHarness) async throws -> [Job] {
        try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection("conn-a"))
        try await harness.send(.POST, "connections", json: EmulatorHarness.kinesisConnection("conn-b"))
        var jobs: [Job] = []
        for (table, connection) in [("alpha", "conn-a"), ("beta", "conn-b"), ("gamma", "conn-a")] {
            let reply = try await harness.send(
                .POST, "jobs", json: EmulatorHarness.streamingJob(table: table, connection: connection))
            jobs.append(try reply.decode(Job.self))
        }
        try await harness.emulator.suspendJob(id: jobs[1].id)
        try await harness.emulator.setHealth(
            jobID: jobs[2].id, JobHealth(status: .warn, code: "lost_connection_to_source", message: "lost it"))
        return jobs
    }

    private func list(_ harness: EmulatorHarness, _ query: String) async throws -> JobList {
        let reply = try await harness.send(.GET, "jobs?\(query)")
        #expect(reply.status == 200, "\(query): \(reply.text)")
        return try reply.decode(JobList.self)
    }

    @Test func summariesHaveNoSpecAndAConnectionSource() async throws {
        try await EmulatorHarness.with { harness in
            _ = try await populate(harness)
            let page = try await list(harness, "")
            #expect(page.values.count == 3)
            #expect(!page.moreResultsAvailable)
            for job in page.values {
                #expect(job.spec == nil)
                #expect(job.source?["type"]?.stringValue == "connection")
                #expect(job.source?["formatSettings"] == nil)
                #expect(job.target?["tableName"] != nil)
                #expect(job.otherFields["readFromPoint"] == nil)
            }
        }
    }

    @Test func filtersOrWithinAndAcross() async throws {
        try await EmulatorHarness.with { harness in
            let jobs = try await populate(harness)
            func ids(_ query: String) async throws -> Set<String> {
                Set(try await list(harness, query).values.map(\.id))
            }
            #expect(try await ids("executionStatus=suspended") == [jobs[1].id])
            #expect(try await ids("executionStatus=suspended&executionStatus=running") == Set(jobs.map(\.id)))
            #expect(try await ids("healthStatus=warn") == [jobs[2].id])
            #expect(try await ids("healthStatus=ok&healthStatus=error") == [jobs[0].id, jobs[1].id])
            #expect(try await ids("connectionName=conn-a") == [jobs[0].id, jobs[2].id])
            #expect(try await ids("connectionName=conn-a&executionStatus=running&healthStatus=ok") == [jobs[0].id])
            #expect(try await ids("targetTableName=beta") == [jobs[1].id])
            #expect(try await ids("type=streaming").count == 3)
            #expect(try await ids("type=batch").isEmpty)
            #expect(try await ids("searchString=GAM") == [jobs[2].id])
            #expect(try await ids("searchString=\(jobs[0].id.prefix(8))") == [jobs[0].id])
            #expect(try await ids("searchString=conn-b") == [jobs[1].id])
        }
    }

    @Test func invalidParametersAre400() async throws {
        try await EmulatorHarness.with { harness in
            for query in [
                "paginationLimit=0", "paginationLimit=1001", "paginationLimit=abc", "paginationOffset=-1",
                "sortColumn=name", "sortOrder=UP", "executionStatus=sleeping", "healthStatus=bad", "type=weird",
            ] {
                let reply = try await harness.send(.GET, "jobs?\(query)")
                #expect(reply.status == 400, "\(query)")
                #expect(reply.isErrorResponse)
            }
            for query in ["paginationLimit=1", "paginationLimit=1000", "paginationOffset=0", "sortOrder=asc"] {
                #expect(try await harness.send(.GET, "jobs?\(query)").status == 200, "\(query)")
            }
        }
    }

    @Test func everySortColumnWorksAndDefaultIsLastUpdatedDescending() async throws {
        try await EmulatorHarness.with { harness in
            let jobs = try await populate(harness)
            // The health change on gamma, then the suspension of beta... order of last update:
            let byDefault = try await list(harness, "").values.map(\.id)
            let byUpdate = try await list(harness, "sortColumn=last_updated_date_time&sortOrder=DESC").values.map(\.id)
            #expect(byDefault == byUpdate)
            #expect(byDefault == [jobs[2].id, jobs[1].id, jobs[0].id])

            let created = try await list(harness, "sortColumn=created_date_time&sortOrder=ASC").values.map(\.id)
            #expect(created == jobs.map(\.id))
            let tables = try await list(harness, "sortColumn=target_table_name&sortOrder=DESC").values
            #expect(tables.compactMap(\.targetTable) == ["gamma", "beta", "alpha"])
            let status = try await list(harness, "sortColumn=execution_status&sortOrder=ASC").values
            #expect(status.map(\.executionStatus) == [.running, .running, .suspended])
            let connection = try await list(harness, "sortColumn=source_connection_name&sortOrder=ASC").values
            #expect(connection.compactMap(\.connectionName) == ["conn-a", "conn-a", "conn-b"])
            for column in [
                "created_by_user_name", "source_name", "source_type", "source_table_name", "type",
            ] {
                #expect(try await list(harness, "sortColumn=\(column)").values.count == 3, "\(column)")
            }
        }
    }

    @Test func tenThousandJobsInTenPages() async throws {
        try await EmulatorHarness.with { harness in
            let seeded = try await harness.send(
                .POST, "/_emulator/seed", json: json(#"{"connection":"bulk","jobs":10000}"#), auth: .none)
            #expect(seeded.json["created"]?.intValue == 10_000)
            // Page 0 goes through the library's models; the rest through a minimal shape, since
            // decoding 9,000 full summaries costs the test seconds in debug builds.
            struct Summary: Decodable {
                let id: String
                let executionStatus: String
                let createdTimestamp: PolarisTimestamp
                let spec: JSONValue?
            }
            struct Page: Decodable {
                let values: [Summary]
                let moreResultsAvailable: Bool
            }
            var seen = Set<String>()
            var created: [PolarisTimestamp] = []
            for page in 0..<10 {
                let query =
                    "paginationLimit=1000&paginationOffset=\(page * 1000)&sortColumn=created_date_time&sortOrder=ASC"
                let reply = try await harness.send(.GET, "jobs?\(query)")
                #expect(reply.status == 200)
                if page == 0 { #expect(try reply.decode(JobList.self).values.count == 1000) }
                let decoded = try reply.decode(Page.self)
                #expect(decoded.values.count == 1000)
                #expect(decoded.moreResultsAvailable == (page < 9))
                #expect(decoded.values.allSatisfy { $0.executionStatus == "running" && $0.spec == nil })
                seen.formUnion(decoded.values.map(\.id))
                created += decoded.values.map(\.createdTimestamp)
            }
            #expect(created.count == 10_000)
            #expect(zip(created, created.dropFirst()).allSatisfy { $0 < $1 })
            #expect(seen.count == 10_000)
            let past = try await list(harness, "paginationOffset=10000")
            #expect(past.values.isEmpty && !past.moreResultsAvailable)
            let defaultPage = try await list(harness, "")
            #expect(defaultPage.values.count == 100 && defaultPage.moreResultsAvailable)
            let filtered = try await list(harness, "connectionName=bulk&targetTableName=seed-table-1234")
            #expect(filtered.values.count == 1)
        }
    }
}
