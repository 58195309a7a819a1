// AudioWorklet processors for the console (no library, no CDN).
//
// "mic-capture": the microphone, resampled to 8 kHz, posted as 20 ms frames
//   of 16-bit PCM (an ArrayBuffer of 160 samples each) for a browser test call.
// "pcm-player": plays 8 kHz float samples posted to it (listen-in, and the
//   agent's voice in a test call), resampled to the context's rate. Marks
//   posted between chunks are posted back once the audio before them has
//   played, and "clear" drops what is queued and posts its pending marks at
//   once: Twilio's marks and clear, so the server knows what was heard.

const LINE_RATE = 8000;

class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / LINE_RATE; // input samples per output sample
    this.pos = 0; // position of the next output sample in the current block
    this.frame = new Int16Array(160);
    this.n = 0;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    while (this.pos < input.length) {
      // A box average over one output sample's span: a crude low-pass before decimating.
      const start = Math.max(0, Math.floor(this.pos - this.step / 2));
      const end = Math.min(input.length, Math.max(start + 1, Math.floor(this.pos + this.step / 2)));
      let sum = 0;
      for (let i = start; i < end; i++) sum += input[i];
      const v = Math.max(-1, Math.min(1, sum / (end - start)));
      this.frame[this.n++] = v < 0 ? v * 32768 : v * 32767;
      if (this.n === this.frame.length) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(160);
        this.n = 0;
      }
      this.pos += this.step;
    }
    this.pos -= input.length;
    return true;
  }
}

class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = LINE_RATE / sampleRate; // input samples per output sample
    this.queue = [];
    this.cur = null;
    this.idx = 0;
    this.base = 0; // input samples before `cur`
    this.total = 0; // input samples ever queued
    this.marks = []; // {at: input sample count, name}
    this.port.onmessage = (event) => {
      const m = event.data;
      if (m.samples) {
        this.queue.push(m.samples);
        this.total += m.samples.length;
      } else if (m.mark) {
        this.marks.push({ at: this.total, name: m.mark });
      } else if (m.clear) {
        this.queue = [];
        this.cur = null;
        this.idx = 0;
        this.base = this.total;
        for (const mark of this.marks) this.port.postMessage({ mark: mark.name });
        this.marks = [];
      }
    };
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const ch = out[0];
    for (let i = 0; i < ch.length; i++) {
      while (this.cur && this.idx >= this.cur.length) {
        this.idx -= this.cur.length;
        this.base += this.cur.length;
        this.cur = this.queue.shift() || null;
      }
      if (!this.cur) {
        this.cur = this.queue.shift() || null;
        this.idx = 0;
        if (!this.cur) {
          ch[i] = 0;
          continue;
        }
      }
      ch[i] = this.cur[Math.floor(this.idx)];
      this.idx += this.ratio;
    }
    for (let c = 1; c < out.length; c++) out[c].set(ch);
    const played = this.base + (this.cur ? Math.min(this.cur.length, Math.floor(this.idx)) : 0);
    while (this.marks.length && this.marks[0].at <= played) this.port.postMessage({ mark: this.marks.shift().name });
    return true;
  }
}

registerProcessor("mic-capture", MicCapture);
registerProcessor("pcm-player", PcmPlayer);
