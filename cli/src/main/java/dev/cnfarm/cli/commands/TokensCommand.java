package dev.cnfarm.cli.commands;

import dev.cnfarm.cli.ConfigOptions;
import dev.cnfarm.common.config.FarmConfig;
import dev.cnfarm.common.kafka.Topics;
import dev.cnfarm.coordinator.auth.Role;
import dev.cnfarm.coordinator.auth.TokenAdmin;
import dev.cnfarm.proto.v1.ApiToken;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code farm tokens}: the operator's commands for API tokens. They talk to Kafka directly (the
 * farm's configuration, {@code kafka.*}), not to a coordinator: holding the Kafka credentials is
 * what makes someone the farm's operator, and it is how the first token of a farm is made.
 */
@Command(name = "tokens", mixinStandardHelpOptions = true,
        description = "Create, list and revoke API tokens (operator command: needs the farm's Kafka settings).",
        subcommands = {TokensCommand.Create.class, TokensCommand.ListTokens.class, TokensCommand.Revoke.class})
public final class TokensCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static TokenAdmin admin(FarmConfig config) {
        return TokenAdmin.open(config.kafka(), new Topics(config.kafka().topicPrefix()));
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Make a token for a tenant and print it (it is shown this once; only its hash is kept).")
    public static final class Create implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Spec
        CommandSpec spec;

        @Option(names = "--tenant", required = true, description = "tenant the token acts for (lowercase letters, digits, '-')")
        String tenant;

        @Option(names = "--admin", description = "an admin token: every tenant's jobs, and the token endpoints")
        boolean adminRole;

        @Option(names = "--name", defaultValue = "", description = "what the token is for, shown by `farm tokens list`")
        String name;

        @Override
        public Integer call() {
            try (TokenAdmin admin = admin(options.load())) {
                TokenAdmin.Issued issued = admin.create(tenant, adminRole ? Role.ADMIN : Role.TENANT, name);
                PrintWriter out = spec.commandLine().getOut();
                out.println(issued.token());
                out.flush();
                spec.commandLine().getErr().printf("token %s for tenant %s (%s) created; give it to its user as "
                                + "FARM_API_TOKEN or api.token. It is not shown again.%n",
                        issued.record().getTokenId(), tenant, adminRole ? "admin" : "tenant");
                return 0;
            } catch (TokenAdmin.InvalidTokenRequest e) {
                spec.commandLine().getErr().println("error: --" + e.getMessage());
                return 2;
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List tokens: id, tenant, role, name, created, revoked.")
    public static final class ListTokens implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try (TokenAdmin admin = admin(options.load())) {
                PrintWriter out = spec.commandLine().getOut();
                out.printf("%-16s  %-20s %-6s %-24s %-20s %s%n", "ID", "TENANT", "ROLE", "NAME", "CREATED", "REVOKED");
                for (ApiToken t : admin.list()) {
                    out.printf("%-16s  %-20s %-6s %-24s %-20s %s%n", t.getTokenId(), t.getTenant(), Role.of(t.getRole()).label(),
                            t.getName(), time(t.getCreatedAtMs()), t.getRevokedAtMs() == 0 ? "-" : time(t.getRevokedAtMs()));
                }
                out.flush();
                return 0;
            }
        }

        private static String time(long ms) {
            return Instant.ofEpochMilli(ms).toString().substring(0, 19).replace('T', ' ');
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a token by id; coordinators refuse it within a second.")
    public static final class Revoke implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "TOKEN_ID", description = "the id `farm tokens list` shows (the 16 hex digits after farm_)")
        String tokenId;

        @Override
        public Integer call() {
            try (TokenAdmin admin = admin(options.load())) {
                ApiToken t = admin.revoke(tokenId);
                spec.commandLine().getOut().printf("token %s of tenant %s revoked%n", t.getTokenId(), t.getTenant());
                spec.commandLine().getOut().flush();
                return 0;
            } catch (TokenAdmin.UnknownTokenException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage());
                return 1;
            }
        }
    }
}
