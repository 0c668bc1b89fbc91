// UI strings in French and English. The page's language comes from the server
// (data-lang, from Accept-Language) unless the user picked one (localStorage).

import { storageGet, storageSet } from './identity.js'

const STRINGS = {
  fr: {
    home: 'Accueil',
    readonly: 'Lecture seule',
    'status.connecting': 'Connexion…',
    'status.connected': 'Connecté',
    'status.reconnecting': 'Déconnecté, nouvel essai dans {s} s',
    'status.retrying': 'Reconnexion…',
    'status.busy': 'Serveur occupé, nouvel essai dans {s} s',
    'status.offline': 'Hors ligne',
    'status.unsaved': 'modifications non enregistrées',
    'status.retryNow': 'Réessayer',
    share: 'Partager',
    'share.title': 'Partager ce pad',
    'share.edit': 'Lien pour modifier',
    'share.read': 'Lien en lecture seule',
    'share.hint': 'Le lien de modification permet à quiconque le connaît d’écrire dans le pad.',
    copy: 'Copier',
    copied: 'Copié !',
    'copy.failed': 'Copie impossible : sélectionnez le lien et copiez-le.',
    'qr.show': 'QR code',
    'qr.alt': 'QR code de ce lien',
    close: 'Fermer',
    export: 'Exporter',
    'export.colors': 'Avec les couleurs des auteurs',
    'export.txt': 'Texte brut (.txt)',
    'export.md': 'Markdown (.md)',
    'export.html': 'Page web (.html)',
    'export.odt': 'OpenDocument (.odt)',
    'export.docx': 'Word (.docx)',
    you: 'Vous',
    'identity.button': 'Votre nom et votre couleur',
    'identity.title': 'Votre nom et votre couleur',
    'identity.hint': 'Ils sont gardés dans ce navigateur et montrés aux autres personnes du pad.',
    'identity.name': 'Nom',
    'identity.color': 'Couleur',
    save: 'Enregistrer',
    cancel: 'Annuler',
    lang: 'Langue',
    people: 'Personnes connectées',
    'people.count': '{n} connectée(s)',
    authorColors: 'Couleurs des auteurs',
    chat: 'Discussion',
    'chat.label': 'Message',
    'chat.placeholder': 'Écrire un message…',
    'chat.send': 'Envoyer',
    'chat.empty': 'Aucun message pour l’instant.',
    'chat.unread': '{n} message(s) non lu(s)',
    'chat.limit': '{n} caractères au plus',
    'side.toggle': 'Discussion',
    'side.close': 'Fermer le panneau',
    toolbar: 'Mise en forme',
    'tb.bold': 'Gras (Ctrl+B)',
    'tb.italic': 'Italique (Ctrl+I)',
    'tb.underline': 'Souligné (Ctrl+U)',
    'tb.strike': 'Barré (Ctrl+Maj+X)',
    'tb.link': 'Lien (Ctrl+K)',
    'tb.h1': 'Titre 1 (Ctrl+Alt+1)',
    'tb.h2': 'Titre 2 (Ctrl+Alt+2)',
    'tb.h3': 'Titre 3 (Ctrl+Alt+3)',
    'tb.bullet': 'Liste à puces (Ctrl+Maj+8)',
    'tb.ordered': 'Liste numérotée (Ctrl+Maj+7)',
    'tb.clear': 'Effacer la mise en forme',
    'tb.undo': 'Annuler (Ctrl+Z)',
    'tb.redo': 'Rétablir (Ctrl+Y)',
    'tb.h': 'T',
    'link.prompt': 'Adresse du lien (https://…). Laisser vide pour retirer le lien.',
    'link.invalid': 'Adresse refusée : seuls les liens http, https et mailto sont acceptés.',
    'link.open': 'Ctrl+clic pour ouvrir le lien',
    editor: 'Texte du pad',
    'editor.placeholder': 'Écrivez ici…',
    anonymous: 'Anonyme',
    'leave.unsaved': 'Des modifications ne sont pas encore enregistrées sur le serveur.',
    'status.gone': 'Pad effacé',
    'gone.expired': 'Ce pad a été effacé : sa durée de conservation est écoulée.',
    'gone.deleted': 'Ce pad a été supprimé par la personne qui l’a créé.',
    'gone.other': 'Ce document a été effacé : {reason}',
    'gone.home': 'Retour à l’accueil',
    delete: 'Supprimer',
    'delete.title': 'Supprimer ce pad ?',
    'delete.text': 'Le pad, son historique et sa discussion seront effacés pour tout le monde, tout de suite. C’est définitif.',
    'delete.confirm': 'Supprimer définitivement',
    'delete.forbidden': 'Ce navigateur ne peut plus supprimer ce pad.',
    'delete.failed': 'La suppression a échoué, réessayez plus tard.',
    'share.title.calc': 'Partager ce calc',
    'calc.grid': 'Feuille de calcul',
    'calc.sheet': 'Feuille',
    'calc.addSheet': 'Ajouter une feuille',
    'calc.renameSheet': 'Nouveau nom de la feuille',
    'calc.renameSheetItem': 'Renommer la feuille…',
    'calc.moveSheetLeft': 'Déplacer vers la gauche',
    'calc.moveSheetRight': 'Déplacer vers la droite',
    'calc.deleteSheet': 'Supprimer la feuille…',
    'calc.deleteSheetTitle': 'Supprimer la feuille « {name} » ?',
    'calc.deleteSheetHint': 'Son contenu disparaît pour tout le monde. Les formules des autres feuilles qui y renvoient afficheront #REF!.',
    'calc.deleteSheetOk': 'Supprimer',
    'calc.cancel': 'Annuler',
    'calc.sheetMenu': 'Menu de la feuille',
    'calc.gridMenu': 'Menu des lignes',
    'calc.sortMenu': 'Trier et déplacer les lignes (Maj+F10)',
    'calc.sortAsc': 'Trier de A à Z selon la colonne {col}',
    'calc.sortDesc': 'Trier de Z à A selon la colonne {col}',
    'calc.sortHeader': 'La première ligne est un en-tête',
    'calc.moveUp': 'Monter les lignes (Alt+Maj+↑)',
    'calc.moveDown': 'Descendre les lignes (Alt+Maj+↓)',
    'calc.formula': 'Contenu de la cellule',
    'calc.bold': 'Gras (Ctrl+B)',
    'calc.italic': 'Italique (Ctrl+I)',
    'calc.format': 'Format des nombres',
    'calc.fmt.general': 'Standard',
    'calc.fmt.int': 'Entier',
    'calc.fmt.dec2': '2 décimales',
    'calc.fmt.thousands': 'Milliers',
    'calc.fmt.pct': 'Pourcentage',
    'calc.fmt.date': 'Date',
    'calc.rowAbove': 'Insérer une ligne au-dessus',
    'calc.rowBelow': 'Insérer une ligne en dessous',
    'calc.deleteRows': 'Supprimer les lignes',
    'calc.colLeft': 'Insérer une colonne à gauche',
    'calc.deleteCols': 'Supprimer les colonnes',
    'calc.moreRows': 'Ajouter 1000 lignes',
    'calc.engineFailed': 'Le moteur de calcul n’a pas pu démarrer : les formules ne sont pas calculées.',
    'calc.loading': 'Chargement du moteur de calcul…'
  },
  en: {
    home: 'Home',
    readonly: 'Read-only',
    'status.connecting': 'Connecting…',
    'status.connected': 'Connected',
    'status.reconnecting': 'Disconnected, retrying in {s} s',
    'status.retrying': 'Reconnecting…',
    'status.busy': 'Server busy, retrying in {s} s',
    'status.offline': 'Offline',
    'status.unsaved': 'unsaved changes',
    'status.retryNow': 'Retry now',
    share: 'Share',
    'share.title': 'Share this pad',
    'share.edit': 'Link to edit',
    'share.read': 'Read-only link',
    'share.hint': 'Anyone who has the edit link can write in this pad.',
    copy: 'Copy',
    copied: 'Copied!',
    'copy.failed': 'Could not copy: select the link and copy it.',
    'qr.show': 'QR code',
    'qr.alt': 'QR code of this link',
    close: 'Close',
    export: 'Export',
    'export.colors': 'With author colours',
    'export.txt': 'Plain text (.txt)',
    'export.md': 'Markdown (.md)',
    'export.html': 'Web page (.html)',
    'export.odt': 'OpenDocument (.odt)',
    'export.docx': 'Word (.docx)',
    you: 'You',
    'identity.button': 'Your name and colour',
    'identity.title': 'Your name and colour',
    'identity.hint': 'They are kept in this browser and shown to the other people on the pad.',
    'identity.name': 'Name',
    'identity.color': 'Colour',
    save: 'Save',
    cancel: 'Cancel',
    lang: 'Language',
    people: 'People here',
    'people.count': '{n} here',
    authorColors: 'Author colours',
    chat: 'Chat',
    'chat.label': 'Message',
    'chat.placeholder': 'Write a message…',
    'chat.send': 'Send',
    'chat.empty': 'No messages yet.',
    'chat.unread': '{n} unread message(s)',
    'chat.limit': 'at most {n} characters',
    'side.toggle': 'Chat',
    'side.close': 'Close the panel',
    toolbar: 'Formatting',
    'tb.bold': 'Bold (Ctrl+B)',
    'tb.italic': 'Italic (Ctrl+I)',
    'tb.underline': 'Underline (Ctrl+U)',
    'tb.strike': 'Strikethrough (Ctrl+Shift+X)',
    'tb.link': 'Link (Ctrl+K)',
    'tb.h1': 'Heading 1 (Ctrl+Alt+1)',
    'tb.h2': 'Heading 2 (Ctrl+Alt+2)',
    'tb.h3': 'Heading 3 (Ctrl+Alt+3)',
    'tb.bullet': 'Bulleted list (Ctrl+Shift+8)',
    'tb.ordered': 'Numbered list (Ctrl+Shift+7)',
    'tb.clear': 'Clear formatting',
    'tb.undo': 'Undo (Ctrl+Z)',
    'tb.redo': 'Redo (Ctrl+Y)',
    'tb.h': 'H',
    'link.prompt': 'Link address (https://…). Leave empty to remove the link.',
    'link.invalid': 'Address refused: only http, https and mailto links are allowed.',
    'link.open': 'Ctrl+click to open the link',
    editor: 'Pad text',
    'editor.placeholder': 'Write here…',
    anonymous: 'Anonymous',
    'leave.unsaved': 'Some changes have not reached the server yet.',
    'status.gone': 'Pad erased',
    'gone.expired': 'This pad was erased: nobody edited it during its lifetime.',
    'gone.deleted': 'This pad was deleted by the person who created it.',
    'gone.other': 'This document was erased: {reason}',
    'gone.home': 'Back to the home page',
    delete: 'Delete',
    'delete.title': 'Delete this pad?',
    'delete.text': 'The pad, its history and its chat will be erased for everyone, right now. This cannot be undone.',
    'delete.confirm': 'Delete for good',
    'delete.forbidden': 'This browser can no longer delete this pad.',
    'delete.failed': 'The deletion failed, try again later.',
    'share.title.calc': 'Share this calc',
    'calc.grid': 'Spreadsheet',
    'calc.sheet': 'Sheet',
    'calc.addSheet': 'Add a sheet',
    'calc.renameSheet': 'New name of the sheet',
    'calc.renameSheetItem': 'Rename the sheet…',
    'calc.moveSheetLeft': 'Move left',
    'calc.moveSheetRight': 'Move right',
    'calc.deleteSheet': 'Delete the sheet…',
    'calc.deleteSheetTitle': 'Delete the sheet “{name}”?',
    'calc.deleteSheetHint': 'Its content disappears for everyone. Formulas on other sheets that refer to it will show #REF!.',
    'calc.deleteSheetOk': 'Delete',
    'calc.cancel': 'Cancel',
    'calc.sheetMenu': 'Sheet menu',
    'calc.gridMenu': 'Rows menu',
    'calc.sortMenu': 'Sort and move rows (Shift+F10)',
    'calc.sortAsc': 'Sort A to Z by column {col}',
    'calc.sortDesc': 'Sort Z to A by column {col}',
    'calc.sortHeader': 'First row is a header',
    'calc.moveUp': 'Move the rows up (Alt+Shift+↑)',
    'calc.moveDown': 'Move the rows down (Alt+Shift+↓)',
    'calc.formula': 'Cell content',
    'calc.bold': 'Bold (Ctrl+B)',
    'calc.italic': 'Italic (Ctrl+I)',
    'calc.format': 'Number format',
    'calc.fmt.general': 'General',
    'calc.fmt.int': 'Integer',
    'calc.fmt.dec2': '2 decimals',
    'calc.fmt.thousands': 'Thousands',
    'calc.fmt.pct': 'Percent',
    'calc.fmt.date': 'Date',
    'calc.rowAbove': 'Insert a row above',
    'calc.rowBelow': 'Insert a row below',
    'calc.deleteRows': 'Delete the rows',
    'calc.colLeft': 'Insert a column to the left',
    'calc.deleteCols': 'Delete the columns',
    'calc.moreRows': 'Add 1000 rows',
    'calc.engineFailed': 'The calculation engine could not start: formulas are not computed.',
    'calc.loading': 'Loading the calculation engine…'
  }
}

export const LANGS = [['fr', 'Français'], ['en', 'English']]
const LANG_KEY = 'ardoise.lang'

let current = 'fr'
const listeners = []

/** Pick the language: the user's saved choice, else the server's (Accept-Language), else French. */
export function initLang (serverLang) {
  const saved = storageGet(LANG_KEY)
  if (saved && STRINGS[saved]) current = saved
  else if (serverLang && STRINGS[serverLang]) current = serverLang
  document.documentElement.lang = current
  return current
}

export function lang () {
  return current
}

export function setLang (l) {
  if (!STRINGS[l] || l === current) return
  current = l
  storageSet(LANG_KEY, l)
  document.documentElement.lang = l
  for (const fn of listeners) fn(l)
}

/** Call `fn` now and after every language switch. */
export function onLang (fn) {
  listeners.push(fn)
  fn(current)
}

/** Translate `key`, replacing `{name}` by vars.name. */
export function t (key, vars) {
  let s = STRINGS[current][key] ?? STRINGS.fr[key] ?? key
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''))
  return s
}

/** Keep el.textContent (or an attribute) translated. */
export function bindText (el, key, attr) {
  onLang(() => {
    if (attr) el.setAttribute(attr, t(key))
    else el.textContent = t(key)
  })
  return el
}
