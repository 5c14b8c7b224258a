// Read-only documents derived from a model file (its outline, its report):
// a custom scheme plus a suffix on the model's path, so each view maps back
// to its model and closing it never asks to save.
import * as vscode from 'vscode';

export interface DerivedDocument {
  /** The view's URI for `model`. */
  uri(model: vscode.Uri): vscode.Uri;
  /** The model a view's URI was derived from; undefined for other URIs. */
  modelOf(uri: vscode.Uri): vscode.Uri | undefined;
}

export function derivedDocument(scheme: string, suffix: string): DerivedDocument {
  return {
    uri: (model) => vscode.Uri.from({ scheme, path: model.path + suffix }),
    modelOf: (uri) => (uri.scheme === scheme && uri.path.endsWith(suffix)
      ? vscode.Uri.from({ scheme: 'file', path: uri.path.slice(0, -suffix.length) })
      : undefined),
  };
}
