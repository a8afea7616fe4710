import Warden

/// Placeholder until the PostgreSQL lease lands.
public enum WardenPostgresPlaceholder {}
