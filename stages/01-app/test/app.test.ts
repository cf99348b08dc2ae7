import request from 'supertest';
import { createApp } from '../src/app.ts';

const app = createApp();

describe('stage 01: the app', () => {
  test('GET / says hello in plain text', async () => {
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toBe('Hello World!\n');
  });

  test('GET /healthz answers 200 with JSON', async () => {
    const res = await request(app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('an unknown route is a JSON 404 that names the route', async () => {
    const res = await request(app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'No route for GET /nope' });
  });

  test('a method the route does not have is a JSON 404 too', async () => {
    const res = await request(app).post('/').send('x');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('No route for POST /');
  });

  test('the response does not advertise Express', async () => {
    const res = await request(app).get('/');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
