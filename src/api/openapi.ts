// GET /openapi.json, generated from the route table and its zod schemas.
import { z } from 'zod';
import { IDEMPOTENCY_KEY_PATTERN } from '../broker/index.js';
import type { RouteSpec } from './route.js';
import { STATUS_OF } from './errors.js';
import { EmptyBody } from './schemas.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape) : {};
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
};

const errorResponse = { $ref: '#/components/responses/Error' };

function operation(spec: RouteSpec): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [name, schema] of Object.entries(shapeOf(spec.params))) {
    parameters.push({ name, in: 'path', required: true, schema: jsonSchema(schema) });
  }
  for (const [name, schema] of Object.entries(shapeOf(spec.query))) {
    parameters.push({ name, in: 'query', required: !schema.safeParse(undefined).success, schema: jsonSchema(schema) });
  }
  if (spec.method !== 'GET' && spec.auth) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Repeats within 10 minutes return the first answer and change nothing',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
    });
  }
  for (const header of spec.headers ?? []) {
    parameters.push({
      name: header.name,
      in: 'header',
      required: false,
      description: header.description,
      schema: { type: 'string', ...(header.pattern && { pattern: header.pattern.source }) },
    });
  }
  const responses: Record<string, unknown> = {
    [String(spec.success)]: { description: spec.successDescription ?? STATUS_TEXT[spec.success] ?? 'OK' },
    default: errorResponse,
  };
  if (spec.kind === 'write' || spec.kind === 'read') {
    responses['307'] = { description: 'Redirect to the leader (redirect mode, on a follower); header x-mom-leader' };
  }
  const op: Record<string, unknown> = {
    operationId: spec.operationId,
    summary: spec.summary,
    security: spec.auth ? [{ bearer: [] }] : [],
    parameters,
    responses,
  };
  if (spec.body !== EmptyBody && spec.method !== 'GET') {
    op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } };
  }
  return op;
}

export function openApiDocument(specs: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'mom-broker REST API', version: '1' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses: {
        Error: {
          description: 'Any error: {error: {code, message, details}}',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['error'],
                properties: {
                  error: {
                    type: 'object',
                    required: ['code', 'message'],
                    properties: {
                      code: {
                        type: 'string',
                        enum: Object.keys(STATUS_OF),
                      },
                      message: { type: 'string' },
                      details: {},
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
