import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiResponse,
  ApiTags,
  type ApiOperationOptions,
  type ApiResponseOptions,
} from '@nestjs/swagger';

/**
 * Shorthands over `@nestjs/swagger`'s decorators for what every davpush operation says the same
 * way: who may call it (a bearer scheme of openapi.document.ts), its errors as RFC 9457 problem
 * documents, JSON answers referring to the component schemas of openapi.schemas.ts.
 */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const json = (schema: object, example?: unknown) => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});

/** Tag and bearer scheme of a controller: `admin` (the admin token) or `tenant` (a tenant's API key). */
export const ApiArea = (tag: string, auth?: 'admin' | 'tenant') =>
  applyDecorators(ApiTags(tag), ...(auth ? [ApiBearerAuth(auth)] : []));

/** One `application/problem+json` answer (schema `Problem`). */
export const Problem = (status: number, description: string) =>
  ApiResponse({ status, description, content: { 'application/problem+json': { schema: ref('Problem') } } });

/** The errors every authenticated, storage-backed operation can answer. */
export const AuthProblems = () =>
  applyDecorators(
    Problem(401, 'missing or wrong credentials'),
    Problem(503, 'storage (Redis) unavailable: nothing was accepted; retry after Retry-After'),
  );

/** A JSON answer with `schema` (often `ref(name)`). */
export const JsonAnswer = (status: number, description: string, schema?: object, example?: unknown) =>
  ApiResponse({
    status,
    description,
    ...(schema === undefined ? {} : { content: json(schema, example) }),
  } as ApiResponseOptions);

/**
 * An operation: its summary, the optional request headers it reads (as OpenAPI parameters), and
 * more of its OpenAPI operation object: a `description`, or a `requestBody` with one schema per
 * media type (`@ApiBody` gives every media type the same schema).
 */
export const Operation = (
  summary: string,
  headers: { name: string; description: string; maxLength?: number }[] = [],
  more: ApiOperationOptions = {},
) =>
  applyDecorators(
    ApiOperation({ summary, ...more }),
    ...headers.map((h) =>
      ApiHeader({
        name: h.name,
        required: false,
        description: h.description,
        schema: { type: 'string', ...(h.maxLength ? { maxLength: h.maxLength } : {}) },
      }),
    ),
  );

export const PUSH_CLIENT_ID = 'Push-Client-Id';
export const PRINCIPAL_HEADER = {
  name: 'X-Davpush-Principal',
  maxLength: 256,
  description: "binds the registration to the calendar server's user",
};

/** The draft-ietf-httpapi-ratelimit-headers fields of an ingest answer. */
export const rateLimitHeaders = () =>
  Object.fromEntries(
    ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'].map((h) => [
      h,
      { schema: { type: 'integer' }, description: 'draft-ietf-httpapi-ratelimit-headers' },
    ]),
  );
