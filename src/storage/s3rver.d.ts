// s3rver ships no types; this covers what embedded-s3.ts uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  import type { Server } from 'node:http';

  namespace S3rver {
    interface Options {
      address?: string;
      port?: number;
      silent?: boolean;
      directory?: string;
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      vhostBuckets?: boolean;
      configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    }

    /** The parts of a Koa context the extension middleware touches. */
    interface Context {
      method: string;
      path: string;
      query: Record<string, string | string[] | undefined>;
      params?: Record<string, string | undefined>;
      status: number;
      body: unknown;
      store: FilesystemStore;
      /** A request header's value, '' when absent. */
      get(header: string): string;
      /** Sets a response header. */
      set(header: string, value: string): void;
    }

    type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void> | void;

    interface FilesystemStore {
      getBucket(bucket: string): Promise<object | null>;
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
      putSubresource(bucket: string, key: string, resource: { type: string; toXML(): string }): Promise<void>;
      getSubresource(bucket: string, key: string, resourceType: string): Promise<{ toXML(): string } | null>;
      existsObject(bucket: string, key: string): Promise<boolean>;
      getMetadata(bucket: string, key: string): Promise<{ etag: string } & Record<string, string>>;
      deleteSubresource(bucket: string, key: string, resourceType: string): Promise<void>;
    }
  }

  class S3rver {
    constructor(options?: S3rver.Options);
    /** Koa's middleware stack, composed when the server starts. */
    middleware: S3rver.Middleware[];
    httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}

declare module 's3rver/lib/models/error' {
  class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, string>);
  }
  export = S3Error;
}

declare module 's3rver/lib/middleware/authentication' {
  import type S3rver from 's3rver';
  function authentication(): S3rver.Middleware;
  export = authentication;
}
