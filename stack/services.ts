/**
 * The services `npm start` runs, each as its own process. Ports: a service with an HTTP API listens
 * on `port` for its first instance; further instances take the next ports (`--scale name=n`).
 */
export interface ServiceDefinition {
  name: string;
  /** The entry file, relative to the repository root. */
  entry: string;
  /** First instance's HTTP port; instances i > 0 use port + i. */
  port: number;
  /** The environment variable the service reads its port from. */
  portVariable: string;
}

export const services: readonly ServiceDefinition[] = [];
