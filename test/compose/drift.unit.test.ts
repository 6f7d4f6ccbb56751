/**
 * docker-compose.yml against the code, with no Docker engine: every service `npm start` runs has
 * a compose service running the same entry, with every variable its config requires (and only
 * variables the code reads), healthchecks and start-up order, and no host port when it scales.
 */
import { describe, expect, it } from 'vitest';
import { kafkaVariables, registryVariables } from '../../shared/config.js';
import { localAdminToken, localDemoApiKey } from '../../stack/demo-client.js';
import { serviceNodeOptions, services as codeServices, type ServiceDefinition } from '../../stack/services.js';
import { configSpecOf, dataMounts, infrastructure, initService, isRequired, nodeCommand, processVariables } from './code-truth.js';
import { namedVolumes, publishedPort, readCompose, type ComposeService } from './compose-file.js';

const compose = readCompose();
const infraServices = new Set(Object.values(infrastructure).map((part) => part.service));
/** Optional parts (behind a profile) are not part of the pipeline `npm start` runs. */
const optionalNames = [...compose.values()].filter((service) => service.profiles.length > 0).map((service) => service.name);
const appServiceNames = [...compose.keys()].filter(
  (name) => !infraServices.has(name) && name !== initService.name && !optionalNames.includes(name),
);
/** Services in the code, in compose, or both: a service missing on either side fails under its own name. */
const allNames = [...new Set([...codeServices.map((s) => s.name), ...appServiceNames])].sort();

function composeService(name: string): ComposeService {
  const service = compose.get(name);
  if (!service) throw new Error(`docker-compose.yml has no service "${name}"`);
  return service;
}

function codeService(name: string): ServiceDefinition {
  const service = codeServices.find((s) => s.name === name);
  if (!service) {
    throw new Error(
      `docker-compose.yml declares "${name}", which stack/services.ts does not list: drift, or services/${name} has not landed yet`,
    );
  }
  return service;
}

describe('compose: infrastructure and init', () => {
  it('has a service for every part of the local stack, each with a healthcheck', () => {
    for (const { service } of Object.values(infrastructure)) {
      expect(compose.has(service), `compose service ${service}`).toBe(true);
      expect(composeService(service).healthcheck, `${service} healthcheck`).toBeDefined();
    }
  });

  it('init sets what scripts/provision.ts loads (Kafka and registry variables), and nothing else', () => {
    const { environment } = composeService(initService.name);
    const spec = Object.values({ ...kafkaVariables, ...registryVariables });
    expect(spec.filter((v) => isRequired(v) && !(v.env in environment)).map((v) => v.env)).toEqual([]);
    const known = new Set([...spec.map((v) => v.env), ...processVariables()]);
    expect(Object.keys(environment).filter((variable) => !known.has(variable))).toEqual([]);
  });

  it('keeps the data of Kafka, PostgreSQL and the mail sink on named volumes (down keeps them, down -v drops them)', () => {
    const declared = namedVolumes();
    for (const [name, target] of Object.entries(dataMounts)) {
      const mount = composeService(name).volumes.find((volume) => volume.target === target);
      expect(mount, `${name} mounts a volume at ${target}`).toBeDefined();
      expect(declared.has(mount!.source ?? ''), `${name}: "${mount!.source}" is a named volume declared at the top level`).toBe(true);
    }
  });

  it('restarts the infrastructure on failure, and never re-runs the one-shot init', () => {
    for (const service of infraServices) expect(composeService(service).restart, service).toMatch(/^(always|unless-stopped|on-failure(:\d+)?)$/);
    expect(composeService(initService.name).restart ?? 'no').toBe('no');
    expect(composeService(initService.name).profiles, 'init always runs').toEqual([]);
  });

  it('runs no TypeScript loader: every node command runs built JavaScript', () => {
    for (const service of compose.values()) {
      if (service.command[0] !== 'node') continue;
      expect(service.command.join(' '), service.name).not.toMatch(/\btsx\b|--import|--loader|\.ts\b/);
      expect(service.command.at(-1), service.name).toMatch(/^dist\/.+\.js$/);
    }
  });

  it('puts only optional parts behind profiles: the infrastructure, init and every service npm start runs start by default', () => {
    for (const name of optionalNames) {
      expect(infraServices.has(name) || name === initService.name || codeServices.some((s) => s.name === name), name).toBe(false);
    }
    expect(optionalNames.length, 'at least one optional part').toBeGreaterThan(0);
  });

  it('init provisions topics and schemas once Kafka and the registry are healthy', () => {
    const init = composeService(initService.name);
    expect(init.command).toEqual(nodeCommand(initService.entry));
    expect(init.build ?? init.image).toBeDefined();
    for (const variable of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL'] as const) {
      expect(init.environment[variable]).toBe(infrastructure[variable].address);
      expect(init.dependsOn[infrastructure[variable].service]?.condition).toBe('service_healthy');
    }
  });
});

describe.each(allNames)('compose service %s', (name) => {
  it('runs with the memory budget npm start gives it (NODE_OPTIONS)', () => {
    expect(composeService(name).environment.NODE_OPTIONS).toBe(serviceNodeOptions(name));
  });

  it('is listed in stack/services.ts and runs the same entry as npm start, built', () => {
    const code = codeService(name);
    const service = composeService(name);
    expect(service.command).toEqual(nodeCommand(code.entry));
    expect(service.image, 'runs the application image').toBe(composeService(initService.name).image);
  });

  it('sets every variable its configSpec requires, with valid values, and nothing the code does not read', async () => {
    const code = codeService(name);
    const spec = await configSpecOf(name);
    if (!spec) throw new Error(`services/${name}/config.ts does not exist yet`);
    const { environment } = composeService(name);
    const specVariables = Object.values(spec);

    const missing = specVariables.filter((v) => isRequired(v) && !(v.env in environment)).map((v) => v.env);
    expect(missing, 'required by configSpec, not set in compose').toEqual([]);

    const known = new Set([...specVariables.map((v) => v.env), ...processVariables(name), 'NODE_OPTIONS']);
    const unknown = Object.keys(environment).filter((variable) => !known.has(variable));
    expect(unknown, 'set in compose, read by no code').toEqual([]);

    const invalid = specVariables
      .filter((v) => v.env in environment && !v.schema.safeParse(environment[v.env] === '' ? undefined : environment[v.env]).success)
      .map((v) => `${v.env}=${environment[v.env]}`);
    expect(invalid, 'rejected by the configSpec schema').toEqual([]);

    expect(environment[code.portVariable], `${code.portVariable}: the HTTP port of the service`).toBeDefined();
  });

  it('points its stack variables at the compose services and starts after them', () => {
    const service = composeService(name);
    for (const [variable, part] of Object.entries(infrastructure)) {
      if (!(variable in service.environment)) continue;
      expect(service.environment[variable], variable).toBe(part.address);
      // Kafka and the registry are healthy before init runs; the others are waited for directly.
      const direct = service.dependsOn[part.service]?.condition === 'service_healthy';
      const throughInit =
        service.dependsOn[initService.name]?.condition === 'service_completed_successfully' &&
        composeService(initService.name).dependsOn[part.service]?.condition === 'service_healthy';
      expect(direct || throughInit, `${name} waits for a healthy ${part.service}`).toBe(true);
    }
    if ('KAFKA_BROKERS' in service.environment) {
      expect(service.dependsOn[initService.name]?.condition, 'topics exist before it starts').toBe('service_completed_successfully');
    }
    for (const [dependency, { condition }] of Object.entries(service.dependsOn)) {
      if (condition === 'service_healthy') expect(composeService(dependency).healthcheck, `${dependency} healthcheck`).toBeDefined();
    }
  });

  it('has a healthcheck on /healthz or /readyz at its own port variable', () => {
    const code = codeService(name);
    const { healthcheck } = composeService(name);
    expect(healthcheck, 'healthcheck').toBeDefined();
    const test = healthcheck!.test.join(' ');
    expect(test).toMatch(/\/(healthz|readyz)\b/);
    expect(test).toContain(code.portVariable);
  });

  it('publishes a host port only when npm start gives it a fixed one; otherwise it scales', () => {
    const code = codeService(name);
    const service = composeService(name);
    expect(service.containerName, 'container_name blocks --scale').toBeUndefined();
    if (name === 'order' || name === 'exports' || name === 'webhooks' || name === 'dashboard' || name === 'payment-provider') {
      // The APIs (and the provider simulator's controls): the host port npm start uses, mapped to the port the service listens on.
      expect(service.ports.map(publishedPort)).toEqual([{ host: code.port, container: Number(service.environment[code.portVariable]) }]);
    } else {
      expect(service.ports, 'a fixed host port makes `--scale` fail').toEqual([]);
    }
  });
});

describe('compose: API clients', () => {
  it('gives every service with a client API the demo client npm start makes, with the same key', async () => {
    const withClients: string[] = [];
    for (const name of appServiceNames) {
      const spec = await configSpecOf(name);
      if (!spec || !Object.values(spec).some((v) => v.env === 'DEMO_API_KEY')) continue;
      withClients.push(name);
      expect(composeService(name).environment.DEMO_API_KEY, name).toBe(localDemoApiKey);
    }
    expect(withClients.sort()).toEqual(['exports', 'order', 'webhooks']);
  });

  it('gives every service with operator endpoints the admin token npm start sets', async () => {
    const withAdmin: string[] = [];
    for (const name of appServiceNames) {
      const spec = await configSpecOf(name);
      if (!spec || !Object.values(spec).some((v) => v.env === 'ADMIN_TOKEN')) continue;
      withAdmin.push(name);
      expect(composeService(name).environment.ADMIN_TOKEN, name).toBe(localAdminToken);
    }
    expect(withAdmin).toContain('order');
    expect(withAdmin).toContain('dashboard');
  });
});
