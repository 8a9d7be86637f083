// Sign in to a tenant with an e-mail and a password.
import { defineComponent, reactive } from "vue";
import { store, t, setLocale } from "../store.js";
import { signIn } from "../api.js";
import { go } from "../components.js";

export default defineComponent({
  props: { tenant: String, next: String },
  setup(props) {
    const form = reactive({ tenant: props.tenant || localStorage.getItem("tessera:last-tenant") || "", email: "", password: "", error: "", busy: false });
    async function submit() {
      form.busy = true;
      form.error = "";
      try {
        await signIn(form.tenant, form.email.trim(), form.password);
        localStorage.setItem("tessera:last-tenant", form.tenant);
        go(props.next && props.next.startsWith(`/app/${form.tenant}/`) ? props.next : `/app/${form.tenant}/home`);
      } catch (e) {
        form.error = t("signin.failed");
      } finally {
        form.busy = false;
      }
    }
    return { form, submit, t, store, setLocale };
  },
  template: `<main class="signin"><form class="panel" @submit.prevent="submit">
      <h1>Tessera CRM</h1><p class="muted">{{ t('signin.title') }}</p>
      <label class="field"><span>{{ t('signin.tenant') }}</span><input name="tenant" v-model="form.tenant" required pattern="[a-z][a-z0-9_]*" autocomplete="organization"></label>
      <label class="field"><span>{{ t('signin.email') }}</span><input name="email" v-model="form.email" type="email" required autocomplete="username"></label>
      <label class="field"><span>{{ t('signin.password') }}</span><input name="password" v-model="form.password" type="password" required autocomplete="current-password"></label>
      <p v-if="form.error" class="error" role="alert">{{ form.error }}</p>
      <button class="primary" :disabled="form.busy">{{ t('signin.submit') }}</button>
      <p class="langs"><button type="button" class="link" @click="setLocale('zh-CN')">中文</button> · <button type="button" class="link" @click="setLocale('en')">English</button></p>
    </form></main>`,
});
